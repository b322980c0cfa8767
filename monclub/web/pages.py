"""The live pages and their server-sent event streams.

A page is plain HTML from a Jinja2 template plus the one script it loads from /static (the CSP
allows no inline script); the script opens the page's stream and draws each `state` it sends.
A stream sends its first state at once, then a new one within a second of any change: the tree
at each of TreeWatch's reads (monclub.web.live) and at once after a kill, a séance or the loans
after each event of theirs (several events in a row make one state), the events page each event
and the listeners' positions every second. Those three also send their state again every
RECONCILE_SECONDS, and after a GAP, from PostgreSQL.
"""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from sse_starlette import EventSourceResponse
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from monclub.db.outbox import read_events
from monclub.errors import MonclubError
from monclub.tree import status as tree_status
from monclub.web import views
from monclub.web.live import GAP
from monclub.web.requests import path_id

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
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


async def _state(read: Callable[[], Awaitable[dict]]) -> dict:
    """A state message, or the reason there is none for now (the page shows it, and the next
    state once it is back)."""
    try:
        return _message("state", await read())
    except MonclubError as error:
        return _message("down", {"code": error.code, "detail": error.message})


def page(name: str, **context) -> Callable:
    async def endpoint(request: Request) -> Response:
        web = _web(request)
        params = {key: path_id(request, key) for key in request.path_params}
        return templates.TemplateResponse(
            request, f"{name}.html", {"page": name, "actions": web.settings.actions, **params, **context}
        )

    return endpoint


async def tree_stream(request: Request) -> EventSourceResponse:
    """Every state TreeWatch sends: one per read, and one at once after a kill of a button."""
    web = _web(request)

    async def messages():
        with web.tree.subscribe() as queue:
            while True:
                kind, data = await queue.get()
                yield _message(kind, data)

    return _stream(messages())


async def _follow(request: Request, concerns: Callable[[dict], bool], read: Callable[[], Awaitable[dict]]):
    """The state at once, then again after each run of events it `concerns`, after a GAP, and
    every RECONCILE_SECONDS."""
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
                yield await _state(read)


async def seance_stream(request: Request) -> EventSourceResponse:
    web = _web(request)
    seance_id = path_id(request, "seance")
    aggregate = f"seance/{seance_id}"

    def read_owner() -> dict:
        """The owner of the séance's partition as the directory knows it: its process, pid,
        node and the epoch it writes under."""
        return tree_status.owner(web.config, "reunions", seance_id)

    async def read() -> dict:
        seance = await web.db.run(views.seance, seance_id)
        return {"id": seance_id, "seance": seance, "owner": await web.run_blocking(read_owner)}

    return _stream(_follow(request, lambda event: event["aggregate"] == aggregate, read))


async def prets_stream(request: Request) -> EventSourceResponse:
    web = _web(request)

    async def read() -> dict:
        return {"livres": await web.db.run(views.livres)}

    return _stream(_follow(request, lambda event: event["aggregate"].startswith("livre/"), read))


async def events_stream(request: Request) -> EventSourceResponse:
    web = _web(request)

    async def recent() -> dict:
        positions = await web.db.run(views.positions)
        start = max(0, positions["latest"] - RECENT_EVENTS)
        return {**positions, "events": await web.db.run(read_events, start, RECENT_EVENTS)}

    async def positions() -> dict:
        return await web.db.run(views.positions)

    async def messages():
        with web.feed.subscribe() as queue:
            yield await _state(recent)
            positions_at = time.monotonic() + POSITIONS_SECONDS
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), max(0.01, positions_at - time.monotonic()))
                    yield await _state(recent) if event is GAP else _message("event", event)
                except TimeoutError:
                    pass
                if time.monotonic() >= positions_at:
                    yield await _state(positions)
                    positions_at = time.monotonic() + POSITIONS_SECONDS

    return _stream(messages())


def routes() -> list:
    return [
        Route("/", page("tree"), methods=["GET"]),
        Route("/seances/{seance}", page("seance"), methods=["GET"]),
        Route("/events", page("events"), methods=["GET"]),
        Route("/prets", page("prets"), methods=["GET"]),
        Route("/live/tree", tree_stream, methods=["GET"]),
        Route("/live/seances/{seance}", seance_stream, methods=["GET"]),
        Route("/live/events", events_stream, methods=["GET"]),
        Route("/live/prets", prets_stream, methods=["GET"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
