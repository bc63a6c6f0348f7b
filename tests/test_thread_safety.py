"""What keeps one server process safe for many sessions at once (scripts/load_test.py measures it)."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP_CODE = [ROOT / "app.py", *sorted((ROOT / "analytics").rglob("*.py")), *sorted((ROOT / "ui").rglob("*.py")),
            *sorted((ROOT / "views").rglob("*.py"))]
# polars calls that run a Python function on polars' own thread pool
PYTHON_ON_POLARS_POOL = re.compile(r"\.(map_elements|map_batches|map_rows|map_groups)\(")


def test_no_python_function_runs_on_the_polars_thread_pool():
    """A Python function on polars' pool needs the GIL; another session's `to_pandas` (st.dataframe) holds the
    GIL while it waits for the same pool. Under load that deadlocked the whole server: every session hung
    (reproduced with 5 sessions, gdb showed both pool workers in take_gil). Format in Python instead."""
    found = [f"{p.relative_to(ROOT)}:{n}" for p in APP_CODE
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if PYTHON_ON_POLARS_POOL.search(line)]
    assert found == []


def test_the_server_neither_watches_sources_nor_collects_all_garbage_after_every_run():
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["fileWatcherType"] == "none"
    assert config["runner"]["postScriptGC"] is False
