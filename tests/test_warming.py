"""Warming in a served deployment (issue 18): the warming list lives in a state store shared by every process, the
worker computes the most asked-for results of each version it publishes and writes them beside the snapshot in an
encoding that cannot run code, and an app process then serves them without computing anything."""
from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from analytics import codec, warming, worker
from analytics.db import snapshots, store
from tests.test_ingest_support import db  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]


def same(a, b) -> bool:
    """Deep equality that compares polars frames by content (and their dtypes)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, pl.DataFrame):
        return a.schema == b.schema and a.equals(b)
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if dataclasses.is_dataclass(a):
        return all(same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, float) and a != a:
        return b != b
    return a == b


def test_every_page_block_survives_the_encoding_unchanged(fixture_path):
    from analytics import metrics
    from analytics.db.queries import Scope
    from analytics.filters import Filters
    from analytics.pages import BLOCKS

    con = store.connect(fixture_path, read_only=True)
    try:
        as_of = store.current_version(con)[1]
        project = con.execute("SELECT project_id FROM projects ORDER BY project_id LIMIT 1").fetchone()[0]
        cases = [("cockpit", {}), ("why_red_share", {}), ("regions", {"metric": "index", "level": ""}),
                 ("domains", {"metric": "index"}), ("trends", {}), ("feedback", {}), ("rectifications", {}),
                 ("freshness", {}), ("item", {"project_id": project}), ("duplicates", {}), ("authenticity", {})]
        for name, extra in cases:
            sel = metrics.Selection(Filters(), Scope(), as_of)
            value = BLOCKS[name](con, sel, dict(metrics.DEFAULT_WEIGHTS), **extra)
            back = codec.loads(codec.dumps(value))
            assert same(value, back), name
    finally:
        con.close()


def test_plain_values_keep_their_types():
    value = {"a": (1, 2.5, None, True), 3: frozenset({"x"}), "$odd": {"y"}, "d": date(2026, 12, 4),
             "t": datetime(2026, 12, 4, 9, 0), "n": [float("nan"), float("inf")],
             "f": pl.DataFrame({"x": [1, None], "d": [date(2026, 1, 1), None]})}
    back = codec.loads(codec.dumps(value))
    assert same(value, back)
    assert codec.key_value(codec.key_text(("cockpit", ("all", None, ()), ()))) == ("cockpit", ("all", None, ()), ())


def test_decoding_builds_nothing_but_data_of_this_package():
    with pytest.raises(ValueError, match="not a class of this package"):
        codec.loads(json.dumps({"$dc": "os:system", "v": {}}).encode())
    with pytest.raises(ValueError, match="not a dataclass"):
        codec.loads(json.dumps({"$dc": "analytics.db.store:connect", "v": {}}).encode())

    class Other:
        pass

    with pytest.raises(codec.Unsupported):
        codec.dumps({"x": Other()})


def test_the_warming_list_adds_every_process_counts_and_forgets_what_nobody_asks_for(tmp_path):
    office = str(tmp_path / "office.duckdb")
    Path(office).touch()  # the list is kept for databases that exist
    cockpit = ("cockpit", ("all", None, (), (), ()), (), (0.6, 0.8), (("a", 1.0),), ())
    regions = ("regions", ("all", "340000", (), (), ()), (), (0.6, 0.8), (("a", 1.0),), (("metric", "index"),))
    query = ("region_options", ("all", None, (), (), ()), (), ())
    for _ in range(3):
        warming.note(office, "block", regions)
    warming.note(office, "block", cockpit)
    warming.note(office, "query", query)
    warming.note(office, "block", ("risk", ("all", None, (), (), ()), (), (), (), ()))  # never warmed
    now = 1_800_000_000.0
    assert warming.flush(office, now=now) == 4
    for _ in range(3):  # another process, later: its counts add to the same rows
        warming.note(office, "block", cockpit)
    warming.flush(office, now=now + 60)
    assert warming.most_asked(office, now=now + 60) == [("block", cockpit), ("block", regions), ("query", query)]
    assert warming.most_asked(office, n=1, now=now + 60) == [("block", cockpit)]
    later = now + 60 + (warming.FORGET_DAYS + 1) * 86400
    warming.note(office, "query", query)
    warming.flush(office, now=later)  # two weeks on, only the query was asked for again
    assert warming.most_asked(office, now=later) == [("query", query)]


def test_the_worker_warms_what_the_cockpit_asked_for_and_an_app_process_then_computes_nothing(db, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from analytics.pages import BLOCKS
    from ui import context

    first = worker.Worker(db, log=lambda s: None)
    first.start()  # publishes v1; the app processes read the snapshot
    first.close()
    monkeypatch.setenv("COCKPIT_DB", str(db))
    monkeypatch.setenv("COCKPIT_DB_WRITABLE", "0")

    def page() -> tuple[AppTest, str]:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        at.query_params["lang"] = "en"
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at, " ".join(m.value for m in at.markdown) + " ".join(str(m.value) for m in at.metric)

    _, before = page()  # the cockpit, computed in this process: its results go on the warming list
    logs: list[str] = []
    w = worker.Worker(db, log=logs.append)
    try:
        w.run(once=True)  # the queue is empty: warms v1's most asked-for results beside its snapshot
    finally:
        w.close()
    snap = snapshots.current(db)
    stored = list(warming.results_dir(snap.path).glob("*.json"))
    assert stored and any("warmed" in line for line in logs), logs

    computed: list[str] = []
    for name, fn in list(BLOCKS.items()):
        monkeypatch.setitem(BLOCKS, name, lambda *a, _n=name, _f=fn, **k: computed.append(_n) or _f(*a, **k))
    context._cached_block.clear()  # a process that has computed nothing for this version
    context._cached_query.clear()
    _, after = page()
    assert "cockpit" not in computed and "why_red_share" not in computed, computed
    assert after == before  # the same page from the stored results

    # a restart: server.py warms at start, and a reader only loads what the worker stored (it computes nothing)
    context._cached_block.clear()
    context._cached_query.clear()
    context.warm_at_start(str(db)).join(timeout=120)
    assert computed == []
    _, restarted = page()
    assert computed == [] and restarted == before
    kept = {p: p.read_bytes() for p in stored}
    for p in stored:
        p.unlink()
    context._cached_block.clear()
    context._cached_query.clear()
    context.warm_at_start(str(db)).join(timeout=120)
    assert computed == []  # nothing stored: left to the page that asks, never warmed in a reader
    for p, data in kept.items():
        p.write_bytes(data)

    # a result file someone damaged is computed again, never trusted
    for p in stored:
        p.write_bytes(b'{"$dc": "os:system", "v": {}}')
    context._cached_block.clear()
    context._cached_query.clear()
    _, damaged = page()
    assert "cockpit" in computed and damaged == before

    # the next version's snapshot is warmed before readers are pointed at it, so their first runs on it are quick
    old = snapshots.current(db)
    during: list[Path] = []
    real = warming.warm_snapshot
    monkeypatch.setattr(warming, "warm_snapshot",
                        lambda *a, **k: during.append(snapshots.current(db).path) or real(*a, **k))
    w = worker.Worker(db, log=logs.append)
    try:
        fresh = w.publish(old.version)
    finally:
        w.close()
    assert during == [old.path]  # while it warmed, readers still read the previous snapshot
    assert fresh.path != old.path and snapshots.current(db).path == fresh.path
    assert list(warming.results_dir(fresh.path).glob("*.json"))
    assert any("before publishing" in line for line in logs), logs


def test_the_worker_warms_while_it_waits_for_the_scores_and_stops_at_publishing(db, monkeypatch):
    """Issue 18: warmed after the scoring within its own 20 s, a loaded worker computed 16 of 48 results before
    publishing, and a process's first cockpit on the new version computed the rest itself (14 s). The warming now
    goes on while the scoring is waited for: a slow scoring (3 s here) leaves it time for both of its results (1 s
    each) past COCKPIT_WARM_BEFORE_PUBLISH_SECONDS (0.3 s here); a quick one publishes at that budget and stops it."""
    import time

    from analytics.risk import jobs as risk_jobs

    first = worker.Worker(db, log=lambda s: None)
    first.start()
    first.close()
    from analytics.db.queries import Scope
    from analytics.filters import Filters

    asked = [("query", warming.query_key(name, Filters(), Scope(), {})) for name in ("data_version", "region_options")]
    monkeypatch.setattr(warming, "most_asked", lambda *a, **k: asked)
    real = warming.compute
    monkeypatch.setattr(warming, "compute", lambda *a, **k: time.sleep(1.0) or real(*a, **k))  # each result: 1 s
    monkeypatch.setenv("COCKPIT_WARM_BEFORE_PUBLISH_SECONDS", "0.3")
    seen: dict[str, bool] = {}

    def publish_once(scoring_s: float) -> list[str]:
        monkeypatch.setattr(risk_jobs, "score_with_latest", lambda *a, **k: time.sleep(scoring_s))
        logs: list[str] = []
        w = worker.Worker(db, log=logs.append)
        real_point = w.before_pointing

        def point(snapshot, version):
            real_point(snapshot, version)
            seen[f"{scoring_s}"] = len(list(warming.results_dir(snapshot).glob("*.json")))  # as readers are pointed
        w.before_pointing = point
        try:
            w.publish(snapshots.current(db).version)
            time.sleep(2.5)  # the stopped warming ends after the result it was computing
        finally:
            w.close()
        return logs

    slow = publish_once(3.0)
    assert seen["3.0"] == 2  # both warmed while the scores were waited for, past its own 0.3 s
    assert any("warmed 2 results" in line and "before publishing it" in line and "stopped" not in line
               for line in slow), slow
    quick = publish_once(0.0)
    assert seen["0.0"] == 0  # published at the warming's budget: the first result came just after
    assert any("the publishing stopped it" in line for line in quick), quick


def test_the_results_go_with_their_snapshot(db):
    con = store.connect(db)
    try:
        old = snapshots.publish(con, db, 1)
        warming.save(old.path, "query", ("data_version", (), (), ()), pl.DataFrame({"v": [1]}))
        assert warming.load(old.path, "query", ("data_version", (), (), ()))["v"].to_list() == [1]
        for v in range(2, 2 + snapshots.KEEP):
            snapshots.publish(con, db, v)
    finally:
        con.close()
    assert not old.path.exists() and not warming.results_dir(old.path).exists()
