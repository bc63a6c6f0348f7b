"""ui/mapfit.py without a browser: the column width estimated from the window's, and the middleware that writes
the window's width into every HTML page (the browser side: tests/test_browser.py)."""
from __future__ import annotations

import asyncio
import gzip

import pytest

from ui import mapfit


@pytest.mark.parametrize("window, spec, measured", [
    # measured in Chromium on the cockpit ([3, 2]), the regions page ([11, 9]) and the domains page (whole width)
    (1920, [3, 2], 868), (1920, [11, 9], 795), (1920, None, 1460),
    (1600, [3, 2], 676), (1600, [11, 9], 619), (1600, None, 1140),
    (1280, [3, 2], 484), (1280, [11, 9], 443), (1280, None, 820),
    (1024, [3, 2], 330), (1024, [11, 9], 302), (1024, None, 564),
    (2560, [3, 2], 1252), (768, [3, 2], 434), (768, [11, 9], 397), (768, None, 736),
    (390, [3, 2], 358), (390, [11, 9], 358), (390, None, 358),
])
def test_the_estimate_is_the_width_chromium_measured(window, spec, measured):
    assert abs(mapfit.estimate(window, spec) - measured) <= 1


def test_no_estimate_where_the_layout_turns_or_without_a_window():
    # a main area of 470-700 px: Streamlit's paddings change within it (measured: at 860 px 16 px, at 870 80 px)
    assert mapfit.estimate(800, [3, 2]) is None and mapfit.estimate(990, None) is None
    assert mapfit.estimate(None, [3, 2]) is None and mapfit.estimate(0, None) is None


def _serve(inner_headers: list, body: bytes, request_headers: list, chunks: int = 1):
    """Run ViewportCookie around an app answering `body` with `inner_headers`; returns (the headers the inner app
    was asked with, the response's start message, its body)."""
    seen = {}

    async def inner(scope, receive, send):
        seen["headers"] = scope["headers"]
        await send({"type": "http.response.start", "status": 200, "headers": inner_headers})
        step = max(1, len(body) // chunks)
        parts = [body[i:i + step] for i in range(0, len(body), step)] or [b""]
        for i, part in enumerate(parts):
            await send({"type": "http.response.body", "body": part, "more_body": i < len(parts) - 1})

    sent = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request"}

    scope = {"type": "http", "method": "GET", "path": "/regions", "headers": request_headers}
    asyncio.run(mapfit.ViewportCookie(inner)(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    return seen["headers"], start, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


PAGE = b"<!doctype html><html><head><meta charset='utf-8'></head><body><div id='root'></div></body></html>"
NAVIGATION = [(b"accept", b"text/html,application/xhtml+xml"), (b"accept-encoding", b"gzip, br")]


@pytest.mark.parametrize("chunks", [1, 3])
def test_every_html_page_keeps_the_window_width_before_streamlit_connects(chunks):
    asked, start, body = _serve([(b"content-type", b"text/html; charset=utf-8"),
                                 (b"content-length", str(len(PAGE)).encode())], PAGE, NAVIGATION, chunks)
    assert b"accept-encoding" not in dict(asked)  # asked uncompressed, so the line can be written in
    assert body.startswith(b"<!doctype html><html><head><script>document.cookie=\"cockpit_vw=\"")
    assert body.count(b"<script>") == 1 and body.endswith(PAGE[PAGE.index(b"<meta"):])
    assert dict(start["headers"])[b"content-length"] == str(len(body)).encode()


def test_other_responses_pass_untouched():
    script = b"console.log('<head>')"
    asked, start, body = _serve([(b"content-type", b"application/javascript")], script,
                                [(b"accept", b"*/*"), (b"accept-encoding", b"gzip")])
    assert dict(asked)[b"accept-encoding"] == b"gzip" and body == script
    zipped = gzip.compress(PAGE)  # an HTML page someone compressed anyway is passed on as it is, not corrupted
    _, start, body = _serve([(b"content-type", b"text/html"), (b"content-encoding", b"gzip")], zipped, NAVIGATION)
    assert body == zipped
