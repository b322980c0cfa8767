"""The engineer's live pages (the tree, the events) and the server-sent event streams.

A page is HTML from a Jinja2 template plus the one script it loads from /static (the CSP allows
no inline script), which opens the page's stream. The tree page and the club's pages
(monclub.web.club_pages) are rendered whole, and their streams send their live parts as HTML
rendered by the very template the page includes (`fragment_stream`, `tree_stream`), which the
script puts in place; the events page is drawn by the script from each `state` and `event`.
A stream sends its first state at once, then a new one within a second of any change: the tree
at each of TreeWatch's reads (monclub.web.live) and at once after a kill, a séance or the books
after each event of theirs (several events in a row make one state, and one that shows nothing
new is not sent), the events page each event and the listeners' positions every second. The
followers of events also read their state again every RECONCILE_SECONDS, and after a GAP, from
PostgreSQL.
"""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from sse_starlette import EventSourceResponse
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from monclub.db.outbox import read_events
from monclub.errors import MonclubError
from monclub.web import views
from monclub.web.live import GAP
from monclub.web.rendering import HERE, context, fragment, fragments, part, render

RETRY_MS = 500
RECONCILE_SECONDS = 2.0
POSITIONS_SECONDS = 1.0
RECENT_EVENTS = 50
PING_SECONDS = 15


def _web(request: Request):
    return request.app.state.web


def _message(kind: str, data) -> dict:
    return {"event": kind, "data": json.dumps(data, ensure_ascii=False), "retry": RETRY_MS}


def _stream(messages: AsyncIterator[dict]) -> EventSourceResponse:
    return EventSourceResponse(messages, ping=PING_SECONDS, headers={"Cache-Control": "no-store"})


async def _state(read: Callable[[], Awaitable[dict | None]]) -> dict | None:
    """A state message (None when `read` has nothing new), or the reason there is none for now
    (the page shows it, and the next state once it is back)."""
    try:
        found = await read()
    except MonclubError as error:
        return _message("down", {"code": error.code, "detail": error.message})
    return None if found is None else _message("state", found)


TREE_PARTS = (
    "healthy",
    "tree_rows",
    "remedies",
    "database_rows",
    "history",
    "cluster_state",
    "cluster_rows",
    "cluster_notes",
)
"""The macros of tree_live.html: the tree page's live parts."""


def _tree_parts(request: Request, tree: dict) -> list[str]:
    return fragments("tree_live.html", context(request, "tree", tree=tree), TREE_PARTS)


async def tree_page(request: Request) -> Response:
    """The tree as last read (within TREE_SECONDS), rendered whole; without the tree (supervisord
    not answering), the page says why and its stream carries on."""
    try:
        tree = await _web(request).tree.current()
    except MonclubError as error:
        tree = {"programs": [], "healthy": False, "history": [], "remedies": [f"{error.code}: {error.message}"]}
        tree["cluster"] = {"error": "not read yet", "read_ago": None}
    return render(request, "tree.html", context(request, "tree", tree=tree))


async def tree_stream(request: Request) -> EventSourceResponse:
    """Every state TreeWatch sends, as the page's parts: one per read, and one at once after a
    kill of a button."""
    web = _web(request)

    async def messages():
        with web.tree.subscribe() as queue:
            while True:
                kind, data = await queue.get()
                yield _message(kind, {"parts": _tree_parts(request, data)} if kind == "state" else data)

    return _stream(messages())


async def _follow(request: Request, concerns: Callable[[dict], bool], read: Callable[[], Awaitable[dict | None]]):
    """The state at once, then again after each run of events it `concerns`, after a GAP, and
    every RECONCILE_SECONDS (when `read` has something new)."""
    with _web(request).feed.subscribe() as queue:
        yield await _state(read)
        while True:
            try:
                changed = [await asyncio.wait_for(queue.get(), RECONCILE_SECONDS)]
            except TimeoutError:
                changed = [GAP]
            while not queue.empty():
                changed.append(queue.get_nowait())
            if any(event is GAP or concerns(event) for event in changed):
                message = await _state(read)
                if message is not None:
                    yield message


def fragment_stream(
    request: Request, page_name: str, read: Callable[[Request], Awaitable[dict]], concerns: Callable[[dict], bool]
) -> EventSourceResponse:
    """The live part of a club page (the template `PAGE_live.html`, which the page includes) as
    HTML, each time what `read` finds has changed: an unchanged part is not sent again, so that
    a form being filled in or a focused button stays as it is."""
    shown: list[dict] = []

    async def html() -> dict | None:
        try:
            found = await read(request)
        except MonclubError:
            shown.clear()
            raise
        if shown and shown[0] == found:
            return None
        shown[:] = [found]
        return {"parts": [fragment(f"{page_name}_live.html", context(request, page_name, **found))]}

    return _stream(_follow(request, concerns, html))


async def _recent(request: Request) -> dict:
    """The latest events (RECENT_EVENTS) and each listener's position."""
    web = _web(request)
    positions = await web.db.run(views.positions)
    start = max(0, positions["latest"] - RECENT_EVENTS)
    return {**positions, "events": await web.db.run(read_events, start, RECENT_EVENTS)}


async def events_page(request: Request) -> Response:
    """The latest events as read now; with the database down, the page says so and its stream
    carries on."""
    try:
        found = await _recent(request)
    except MonclubError as error:
        found = {"latest": 0, "listeners": {}, "events": [], "down": f"{error.code}: {error.message}"}
    return render(request, "events.html", context(request, "events", **found))


async def events_stream(request: Request) -> EventSourceResponse:
    """The events page's parts: all of them at once and after a GAP, one row per new event, the
    positions every POSITIONS_SECONDS."""
    web = _web(request)

    async def recent() -> dict:
        found = context(request, "events", **await _recent(request))
        return {"parts": fragments("events_live.html", found, ("positions", "rows"))}

    async def positions() -> dict:
        found = context(request, "events", **await web.db.run(views.positions))
        return {"parts": fragments("events_live.html", found, ("positions",))}

    def row(event: dict) -> dict:
        return _message("event", {"html": part("events_live.html", context(request, "events"), "row", event)})

    async def messages():
        with web.feed.subscribe() as queue:
            yield await _state(recent)
            positions_at = time.monotonic() + POSITIONS_SECONDS
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), max(0.01, positions_at - time.monotonic()))
                    yield await _state(recent) if event is GAP else row(event)
                except TimeoutError:
                    pass
                if time.monotonic() >= positions_at:
                    yield await _state(positions)
                    positions_at = time.monotonic() + POSITIONS_SECONDS

    return _stream(messages())


def routes() -> list:
    return [
        Route("/", tree_page, methods=["GET"]),
        Route("/events", events_page, methods=["GET"]),
        Route("/live/tree", tree_stream, methods=["GET"]),
        Route("/live/events", events_stream, methods=["GET"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
