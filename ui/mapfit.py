"""The width a map is drawn at, measured in the reader's browser, so that the whole region (the South China Sea
inset included) fits its container at every screen width (issue 17, point 11).

deck.gl places a map by centre and zoom, in pixels: a view fitted for 700 px is cut in a 440 px column (a 1280 px
screen) or on a phone. The server cannot know the column's width, so a tiny component placed just above the map
measures its own width (the same container's) and reports it; the page then fits the view to it. The first run
of a page in a browser does not know it yet: it draws an empty deck in the map's place (`waiting`, `empty`: no
geometry, so the browser loads deck.gl and opens its canvas meanwhile), and the width the component reports asks
for one rerun that draws the map into that same chart (same key). The map is sent once, not once at a guess and
again at the measured width (issue 17, point 14: the refit rerun sent the 182 KB national map twice per first
visit). Without a browser (AppTest, or scripts/page_bytes.py and load_test.py over the websocket: no browser's
User-Agent, nothing will report a width) the map is drawn at once at a guess. A later change of width by more than `TOLERANCE_PX` redraws it; the width is kept per map in the session,
so later runs of the page fit at once. Resizing the window is followed too (debounced).

The browser also keeps the width it measured in a cookie (`cockpit_w_<map>`, a number, a year), so a returning
reader's first run draws the map at once at that width, without the run the measurement asks for; if the column
is now wider or narrower (another screen, the sidebar closed), the measurement redraws it as on a first visit.
Measured (docs/performance.md): it spares the server a run per visit but the reader little time, 0–0.3 s: what
is left of a visit is mostly the browser drawing deck.gl and the charts in software.

A first visit knows the window's width: every HTML page the server sends carries one line of script, run before
Streamlit's own code opens its connection, that keeps `window.innerWidth` in the cookie `cockpit_vw`
(`ViewportCookie`, the ASGI middleware server.py adds). From it and Streamlit's layout (`estimate`: the sidebar,
the paddings, the columns' gap, measured in Chromium) the first run draws the map at once at the width its column
will have, so a first visit no longer waits for the component, which mounts only once the page's chart code is
loaded (about 2 s in software rendering), and its rerun (about 1.2 s more). The measurement still follows: a
column that turns out wider or narrower than estimated by more than `TOLERANCE_PX` (a sidebar the reader
resized, a window between a phone's and a desktop's, where the estimate does not guess) is redrawn as before.
"""
from __future__ import annotations

import streamlit as st

from analytics.figures import maps

TOLERANCE_PX = 24
PLAUSIBLE_PX = range(200, 4001)  # a width reported or remembered outside this is not believed
DESKTOP_GUESS, PHONE_GUESS = 480, 350

_JS = """
export default function (component) {
  const { parentElement, setStateValue, data } = component;
  const host = parentElement.host || parentElement;
  const known = (data && data.known) || 0;
  const tolerance = (data && data.tolerance) || 24;
  const cookie = data && data.cookie;
  let timer = null, sent = known;
  const measure = () => {
    const w = Math.round(host.getBoundingClientRect().width);
    if (w > 0 && cookie) { document.cookie = `${cookie}=${w}; path=/; max-age=31536000; SameSite=Lax`; }
    if (w > 0 && Math.abs(w - sent) > tolerance) { sent = w; setStateValue("width", w); }
  };
  const observer = new ResizeObserver(() => { clearTimeout(timer); timer = setTimeout(measure, 250); });
  observer.observe(host);
  measure();
  return () => { observer.disconnect(); clearTimeout(timer); };
}
"""
_CSS = ":host { display: block; height: 0; overflow: hidden; }"

_measure = st.components.v2.component("cockpit_map_width", js=_JS, css=_CSS)


def _agent() -> str:
    try:
        return (st.context.headers.get("User-Agent") or "").lower()
    except Exception:  # noqa: BLE001 - no request (AppTest)
        return ""


COOKIE = "cockpit_w_"  # + the map's key: the width this browser measured last time, px


def remembered(key: str) -> int | None:
    """The width the reader's browser measured the map named `key` at on an earlier visit (its cookie), if any
    and plausible; None otherwise (a first visit, AppTest, a cookie someone edited)."""
    try:
        raw = st.context.cookies.get(COOKIE + key)
    except Exception:  # noqa: BLE001 - no request (AppTest)
        return None
    return int(raw) if raw and len(raw) <= 4 and raw.isdigit() and int(raw) in PLAUSIBLE_PX else None


def _guess() -> int:
    agent = _agent()
    return PHONE_GUESS if ("mobile" in agent or "android" in agent or "iphone" in agent) else DESKTOP_GUESS


VIEWPORT_COOKIE = "cockpit_vw"  # the window's width in CSS px, written by the page before Streamlit connects
_VIEWPORT_JS = (f'<script>document.cookie="{VIEWPORT_COOKIE}="+Math.round(window.innerWidth)'
                '+"; path=/; max-age=31536000; SameSite=Lax"</script>')

# Streamlit 1.67's layout (layout="wide"), measured in Chromium at 390-2,560 px (tests/test_browser.py holds the
# estimate to the measured width): at most 768 px wide no sidebar is shown and the page's content is inset 16 px
# on each side; wider, the sidebar takes 300 px and, from a main area of about 568 px, the content is inset 80 px
# on each side; below 640 px columns are stacked; n columns share the content less n-1 gaps of 16 px.
PHONE_MAX_PX, STACK_BELOW_PX, SIDEBAR_PX, GAP_PX = 768, 640, 300, 16
PHONE_INSET_PX, DESKTOP_INSET_PX, DESKTOP_MAIN_MIN_PX = 16, 80, 700  # below that main area: no estimate


def viewport() -> int | None:
    """The width of the reader's window (the `cockpit_vw` cookie), if plausible; None otherwise."""
    try:
        raw = st.context.cookies.get(VIEWPORT_COOKIE)
    except Exception:  # noqa: BLE001 - no request (AppTest)
        return None
    return int(raw) if raw and len(raw) <= 4 and raw.isdigit() and int(raw) in PLAUSIBLE_PX else None


def estimate(window: int | None, spec: list[int] | None = None) -> int | None:
    """The width of the first of the columns `spec` (None: the whole content) in a window `window` px wide, as
    Streamlit lays it out with its sidebar open; None for widths where the layout changes within a few pixels
    (a main area of 470-700 px: the paddings' breakpoint) or no window."""
    if not window:
        return None
    if window <= PHONE_MAX_PX:
        content = window - 2 * PHONE_INSET_PX
    elif window - SIDEBAR_PX >= DESKTOP_MAIN_MIN_PX:
        content = window - SIDEBAR_PX - 2 * DESKTOP_INSET_PX
    else:
        return None
    if not spec or window < STACK_BELOW_PX:
        return content
    return round(spec[0] / sum(spec) * content - GAP_PX * (len(spec) - 1) / len(spec))


class ViewportCookie:
    """ASGI middleware: into each HTML page (the app's one page, served for every path) write the script that keeps
    the window's width in `VIEWPORT_COOKIE`, first thing in <head>. The page is asked for uncompressed (it is 2 KB;
    a proxy in front compresses it again) so the line can be written in; nothing else is touched."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        headers = dict(scope.get("headers") or [])
        if scope["type"] != "http" or scope["method"] != "GET" or b"text/html" not in headers.get(b"accept", b""):
            await self.app(scope, receive, send)
            return
        scope = dict(scope, headers=[(k, v) for k, v in scope["headers"] if k != b"accept-encoding"])
        start: dict = {}

        async def send_html(message) -> None:
            if message["type"] == "http.response.start":
                kinds = dict(message.get("headers") or [])
                if b"text/html" in kinds.get(b"content-type", b"") and b"content-encoding" not in kinds:
                    start.update(message)  # held until the body is in
                    return
            elif message["type"] == "http.response.body" and start:
                body = message.get("body", b"")
                if message.get("more_body"):
                    start.setdefault("parts", []).append(body)
                    return
                body = b"".join(start.pop("parts", [])) + body
                body = body.replace(b"<head>", b"<head>" + _VIEWPORT_JS.encode(), 1)
                headers = [(k, v) for k, v in start["headers"] if k != b"content-length"]
                await send({"type": "http.response.start", "status": start["status"],
                            "headers": headers + [(b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, send_html)


def map_height(width: int, tallest: int) -> int:
    """A height for a map `width` px wide: China and most provinces are wider than tall, so a narrow column (a
    phone) does not need the full height, which would leave empty bands above and below the map."""
    return max(300, min(tallest, round(width * 0.8)))


def map_width(key: str, spec: list[int] | None = None) -> int:
    """The pixel width to fit the map named `key` for: the width its container reported, else the width estimated
    from the window's (`spec`: the columns it is the first of, None for the whole content; the measurement then
    reports only a width off by more than the tolerance), else a guess (then `waiting(key)` says whether a browser
    is about to report it). Call it just before drawing the map, in the same container."""
    state_key = f"_mapfit_{key}"
    if state_key not in st.session_state and (last_time := remembered(key)):
        st.session_state[state_key] = last_time  # drawn at once; the measurement redraws it if the column changed
    if (guessed := estimate(viewport(), spec)) and guessed in PLAUSIBLE_PX:
        st.session_state[f"_mapfit_estimate_{key}"] = guessed
    known = st.session_state.get(state_key) or estimated(key) or _guess()
    reported = st.session_state.get(state_key) or estimated(key) or 0  # 0: any width the browser measures is news
    result = _measure(key=f"mapfit_{key}", data={"known": reported, "tolerance": TOLERANCE_PX, "cookie": COOKIE + key},
                      default={"width": None}, on_width_change=lambda: None, height="content")
    width = getattr(result, "width", None)
    if isinstance(width, (int, float)) and int(width) in PLAUSIBLE_PX:
        known = int(width)
        st.session_state[state_key] = known
    return known


NARROW_PX = 640  # below this a page lays its wide charts out for a phone


def is_narrow(key: str) -> bool:
    """Whether the column measured as `key` (`map_width`) is a phone's: its measured width below `NARROW_PX`, or,
    before it is measured, a phone's browser."""
    width = measured(key) or estimated(key)
    return width < NARROW_PX if width else _guess() == PHONE_GUESS


def measured(key: str) -> int | None:
    """The width the browser measured for `key` (this session, or an earlier visit's cookie), None before."""
    return st.session_state.get(f"_mapfit_{key}") or None


def estimated(key: str) -> int | None:
    """The width `map_width` estimated for `key` from the window's width (`estimate`), None without one."""
    return st.session_state.get(f"_mapfit_estimate_{key}") or None


def known_width(key: str) -> int:
    """The width the map named `key` was last measured at (`measure_early`), else estimated at, else a guess."""
    return measured(key) or estimated(key) or _guess()


def measure_early(key: str, spec: list[int]) -> None:
    """Measure the map named `key` at the top of the page, in a row of empty columns laid out as the map's own
    (`spec`: the same proportions and gap, stacked alike on a phone), so that its first column is as wide as the
    map's. Deep in a page the measuring component renders late: on the cockpit, after the cards and charts above
    the map, 5-14 s into a first visit in software rendering, and the map waited for it. Here it reports with the
    page's first output. The page then fits the map with `known_width(key)`."""
    with st.columns(spec)[0]:
        map_width(key, spec)


def waiting(key: str) -> bool:
    """Whether the map named `key` should wait for its width (call after `map_width`): a browser's first run of the
    page, before the container has reported it. The caller then draws `empty` in the map's place, with the map's
    chart key, and nothing else of the map (its legend comes with it)."""
    return not measured(key) and not estimated(key) and "mozilla" in _agent()  # every browser says Mozilla/5.0


def empty(chart_key: str, height: int, selectable: bool = True) -> None:
    """An empty deck where the map will be: no bytes of geometry, but deck.gl's code loads and its canvas opens
    while the rerun that brings the map is on its way (the same `chart_key` and selection, hence the same chart
    element, so the map is drawn into it)."""
    select = {"on_select": "rerun", "selection_mode": "single-object"} if selectable else {}
    st.pydeck_chart(maps.empty_deck(), height=height, key=chart_key, **select)


def fit(key: str, level: str, parent_code: str | None, tallest: int, measured_early: bool = False) -> dict:
    """maps.choropleth's keyword arguments for the map named `key`: the width its container reported (here, or
    at the top of the page: `measure_early`), a height for it (at most `tallest`) and the detail to send at that
    width."""
    width = known_width(key) if measured_early else map_width(key)
    return {"width": width, "height": map_height(width, tallest), **maps.detail(level, parent_code, width)}
