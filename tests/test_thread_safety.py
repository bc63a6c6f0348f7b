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


def test_after_a_commit_the_results_sessions_asked_for_are_ready_before_anyone_asks_again(app_env, monkeypatch):
    """The warmer recomputes what sessions asked for (here: the cockpit and the regions page), so the next
    run of those pages computes nothing itself."""
    from streamlit.testing.v1 import AppTest

    from analytics import warming
    from analytics.pages import BLOCKS
    from ui import context

    computed: list[str] = []

    def counting(name, fn):
        def run(*args, **kwargs):
            computed.append(name)
            return fn(*args, **kwargs)
        return run

    for name, fn in list(BLOCKS.items()):
        monkeypatch.setitem(BLOCKS, name, counting(name, fn))

    def run_pages() -> None:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
        assert not at.exception
        at.switch_page("views/regions.py").run()
        assert not at.exception

    warming.path_for(app_env).unlink(missing_ok=True)  # the warming list of the state store, empty
    context._cached_block.clear()  # other tests have rendered these pages on the same fixture
    context._cached_query.clear()
    run_pages()
    assert {"cockpit", "regions"} <= set(computed)
    asked = context.most_asked(str(app_env))
    assert ("block", next(k for kind, k in asked if kind == "block" and k[0] == "cockpit")) in asked

    context._cached_block.clear()  # what a new data version leaves: nothing cached for it
    context._cached_query.clear()
    computed.clear()
    assert context.warm(str(app_env)) >= 2
    assert {"cockpit", "regions"} <= set(computed)
    computed.clear()
    run_pages()
    assert computed == []  # every block the pages needed was warm

    # a restart: nothing cached, the warming list kept; server.py warms it as the process starts
    context._cached_block.clear()
    context._cached_query.clear()
    computed.clear()
    thread = context.warm_at_start(str(app_env))
    thread.join(timeout=120)
    assert {"cockpit", "regions"} <= set(computed)
    computed.clear()
    run_pages()
    assert computed == []


def test_only_a_commit_to_the_app_database_warms_it(tmp_path):
    from ui import context

    assert context.warm_after_commit(str(tmp_path / "a.duckdb"), str(tmp_path / "b.duckdb")) is False
    assert context.warm_after_commit(str(tmp_path / "a.duckdb"), "") is False
    assert context.warm_at_start(str(tmp_path / "not-yet-created.duckdb")) is None  # the demo, made on a first visit
