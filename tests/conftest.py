from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# A commit retrains the slip-risk model by default (COCKPIT_RETRAIN_AFTER_COMMIT). The tests that upload or roll back
# test the data, not the model, so they commit without training it (and so do the app servers and command lines they
# start, which inherit this); tests/test_retrain_after_upload.py turns it on.
os.environ["COCKPIT_RETRAIN_AFTER_COMMIT"] = "0"

from tests import fixture_db  # noqa: E402


# The longest single test (every state-store test again on PostgreSQL, 3-5 minutes in one item) goes first: with
# `--dist loadfile` each worker takes whole files in collection order, and started last it left one worker alone
# for its whole length at the end of the run.
FIRST = ("test_state_postgres.py",)


def pytest_collection_modifyitems(items) -> None:
    items.sort(key=lambda item: item.path.name not in FIRST)  # stable: every other order is kept


@pytest.fixture(scope="session")
def fixture_path(tmp_path_factory) -> Path:
    return fixture_db.build(tmp_path_factory.mktemp("fixture") / "fixture.duckdb")


@pytest.fixture()
def fixture_con(fixture_path):
    from analytics.db import store

    con = store.connect(fixture_path, read_only=True)
    yield con
    con.close()


@pytest.fixture()
def app_env(fixture_path, monkeypatch):
    """Point the app at the fixture database, read-only: the session shares it with other processes (the
    CLI tests), and a read-write app would hold it exclusively. Upload tests use their own copy."""
    monkeypatch.setenv("COCKPIT_DB", str(fixture_path))
    monkeypatch.setenv("COCKPIT_DB_WRITABLE", "0")
    return fixture_path


@pytest.fixture(scope="session")
def demo_small_path(tmp_path_factory) -> Path:
    """The small demo database (scale 0.05, seed 3, as of 2026-11-22), generated once per session for the
    tests that need a realistic history (the risk model). Read it only: copy it before writing, and save
    models beside copies (a `.models` folder beside it would be seen by every test using it)."""
    from datetime import date

    from analytics import demo

    path = tmp_path_factory.mktemp("demo_small") / "demo.duckdb"
    demo.generate(path, scale=0.05, seed=3, as_of=date(2026, 11, 22))
    return path


@pytest.fixture(scope="session")
def demo_small_model(demo_small_path):
    """The slip-risk model trained on `demo_small_path` (with its card), once per session for the modules that
    score, save or publish it. Use it only: do not change it."""
    from analytics.db import store
    from analytics.risk import model

    con = store.connect(demo_small_path, read_only=True)
    try:
        return model.train(con)
    finally:
        con.close()


# ---- the browser tests (tests/test_browser*.py) ------------------------------------------------------

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class Chromium:
    """One headless Chromium (Debian's, driven by Playwright) with one browser context per app server: the
    pages of a server share its HTTP cache, so Streamlit's frontend is fetched once per server, not once per
    test. Each test still opens a page of its own, and a Streamlit session lives in one page's websocket (the
    app keeps no cookie), so no state passes from test to test.

    Started by the first test that asks for it and stopped after the last of a run of such tests, not at the
    end of the session: while Playwright's sync API is up, this thread's asyncio loop counts as running, so a
    later test calling asyncio.run() would fail."""

    def __init__(self) -> None:
        self._playwright = None
        self._browser = None
        self._contexts: dict[str, object] = {}
        self._pages: list = []  # of the current test
        self.visited: set[str] = set()  # every server a page was opened on in this session

    def start(self) -> Chromium:
        if self._browser is None:
            if not Path(CHROMIUM).exists():
                if os.environ.get("CI"):
                    pytest.fail(f"no Chromium at {CHROMIUM}: .ci/run must apt-get install chromium", pytrace=False)
                pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium fonts-noto-cjk)")
            sync_api = pytest.importorskip("playwright.sync_api")
            self._playwright = sync_api.sync_playwright().start()
            self._browser = self._playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        return self

    def new_page(self, base: str, width: int, height: int):
        """A new page in `base`'s context, `width` × `height` (a viewport is the page's own, not the context's)."""
        if base not in self._contexts:
            self._contexts[base] = self._browser.new_context(viewport={"width": 1440, "height": 900})
        page = self._contexts[base].new_page()
        if (width, height) != (1440, 900):
            page.set_viewport_size({"width": width, "height": height})
        self.visited.add(base)
        self._pages.append(page)
        return page

    def close_pages(self) -> None:
        """Close the pages a test left open (it failed before closing them): their sessions end with them."""
        for page in self._pages:
            if not page.is_closed():
                page.close()
        self._pages = []

    def stop(self) -> None:
        if self._browser is not None:
            for context in self._contexts.values():
                context.close()
            self._browser.close()
            self._playwright.stop()
        self._playwright, self._browser, self._contexts, self._pages = None, None, {}, []


_CHROMIUM = Chromium()


@pytest.fixture()
def browser() -> Iterator[Chromium]:
    """The one Chromium of a run of browser tests (see Chromium for why it is not simply session-scoped)."""
    yield _CHROMIUM.start()
    _CHROMIUM.close_pages()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    try:
        return (yield)
    finally:  # after the test's own fixtures, so that module servers stop before their pages' browser
        if nextitem is None or "browser" not in getattr(nextitem, "fixturenames", ()):
            _CHROMIUM.stop()


@pytest.fixture(scope="session")
def fixture_app(tmp_path_factory):
    """`with fixture_app(name, prepare) as base:` the app on a new copy of the fixture database, `prepare(db)`
    applied to it first (accounts, say); fails the test when the app does not start."""
    from contextlib import contextmanager

    from analytics.bench.server import app_server

    @contextmanager
    def start(name: str, prepare=None) -> Iterator[str]:
        db = fixture_db.build(tmp_path_factory.mktemp(name) / "fixture.duckdb")
        if prepare:
            prepare(db)
        try:
            with app_server(db, log=tmp_path_factory.mktemp("log") / "app.log") as (base, _):
                yield base
        except RuntimeError as e:
            pytest.fail(str(e))

    return start


@pytest.fixture(scope="session")
def server(fixture_app) -> str:
    """The app on its own copy of the fixture database, shared by every browser test that only reads it.
    Tests that write (uploads, marks, a training) or need another database or environment start their own."""
    with fixture_app("browser") as base:
        yield base
