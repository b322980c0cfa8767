"""The club's pages, for an organiser without the CLI: the séances, a séance, the membres, a
membre, the books and loans, the payments. Each is rendered whole on the server (it works
without JavaScript); its forms post to monclub.web.forms and come back here with the outcome
(`?form=KEY`). A séance's and the books' live part is one template, included by the page and
sent again by its stream (`/live/...`) as HTML after each event of theirs: one renderer, not two.
A séance, a copy and a membre show their timeline (monclub.web.timeline), and a séance or a copy
with `?at=TIME` the state it had then, without forms.
"""

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from monclub.club.quand import ordered
from monclub.contract import protocol
from monclub.db import reads
from monclub.errors import Refus, existing
from monclub.tree import status as tree_status
from monclub.web import timeline, views
from monclub.web.pages import fragment_stream
from monclub.web.rendering import context, render
from monclub.web.requests import path_id, query_int


def _web(request: Request):
    return request.app.state.web


def _page(request: Request, name: str, found: dict, status: int = 200) -> Response:
    """A page with the outcome of the form that brought the browser here, if any."""
    outcome = _web(request).outcomes.get(request.query_params.get("form"))
    return render(request, f"{name}.html", context(request, name, outcome=outcome, **found), status)


def _absent(request: Request, error: Refus) -> Response:
    """The page of a séance or membre that does not exist: the refusal, in the CLI's words."""
    return _page(request, "absent", {"error": error}, 404)


async def _timeline(request: Request, aggregate: str | None, membre: int | None = None) -> dict:
    """The page of the timeline `?avant=` names (none: the latest), for the page and its stream alike."""
    avant = query_int(request, "avant", protocol.row_id)
    return await _web(request).db.run(timeline.timeline, aggregate, membre, avant, _web(request).config.zone)


async def _past(request: Request, aggregate: str) -> dict | None:
    """With `?at=TIME`, the state the séance or copy had then (monclub.web.timeline.past)."""
    at = request.query_params.get("at")
    return None if at is None else await _web(request).db.run(timeline.past, aggregate, at, _web(request).config.zone)


async def seance_live(request: Request) -> dict:
    """What a séance page's live part shows: the séance, its inscrits and attente by name, its
    owner, its timeline."""
    web = _web(request)
    seance_id = path_id(request, "seance")
    seance = await web.db.run(views.seance, seance_id)
    owner = await web.run_blocking(lambda: tree_status.owner(web.config, "reunions", seance_id))
    found = await _timeline(request, f"seance/{seance_id}")
    return {"id": seance_id, "seance": seance, "owner": owner, "timeline": found}


async def livres_live(request: Request) -> dict:
    return {"livres": await _web(request).db.run(views.livres)}


async def seances(request: Request) -> Response:
    found = ordered(await _web(request).db.run(reads.seances), _web(request).config.zone, datetime.now(UTC))
    return _page(request, "seances", {"seances": found})


async def seance(request: Request) -> Response:
    live = await seance_live(request)
    try:
        existing(live["seance"], "seance", live["id"], "seance_inconnue")
    except Refus as error:
        return _absent(request, error)
    past = await _past(request, f"seance/{live['id']}")
    return _page(request, "seance", {**live, "past": past, "membres": await _web(request).db.run(views.membres)})


async def membres(request: Request) -> Response:
    cherche = request.query_params.get("cherche", "").strip()[:200]
    found = await _web(request).db.run(views.membres, cherche)
    return _page(request, "membres", {"membres": found, "cherche": cherche})


async def membre(request: Request) -> Response:
    text = request.path_params["membre"]
    membre_id = protocol.membre_id("membre", int(text) if text.isdigit() and len(text) < 20 else -1)
    found = await _web(request).db.run(views.membre, membre_id)
    try:
        existing(found, "membre", str(membre_id), "membre_inconnu")
    except Refus as error:
        return _absent(request, error)
    return _page(request, "membre", {"membre": found, "timeline": await _timeline(request, None, membre_id)})


async def livres(request: Request) -> Response:
    found = await livres_live(request)
    return _page(request, "livres", {**found, "membres": await _web(request).db.run(views.membres)})


async def livre(request: Request) -> Response:
    """A copy: its loan, its timeline, or with `?at=` the state it had then."""
    livre_id = path_id(request, "livre")
    found = await _web(request).db.run(views.livres, livre_id)
    try:
        existing(found or None, "livre", livre_id, "livre_inconnu")
    except Refus as error:
        return _absent(request, error)
    aggregate = f"livre/{livre_id}"
    shown = {"id": livre_id, "livre": found[0], "past": await _past(request, aggregate)}
    return _page(request, "livre", {**shown, "timeline": await _timeline(request, aggregate)})


async def paiements(request: Request) -> Response:
    return _page(request, "paiements", {"paiements": await _web(request).db.run(views.paiements)})


async def seance_stream(request: Request) -> Response:
    aggregate = f"seance/{path_id(request, 'seance')}"
    return fragment_stream(request, "seance", seance_live, lambda event: event["aggregate"] == aggregate)


async def livres_stream(request: Request) -> Response:
    return fragment_stream(request, "livres", livres_live, lambda event: event["aggregate"].startswith("livre/"))


def routes() -> list[Route]:
    return [
        Route("/seances", seances, methods=["GET"]),
        Route("/seances/{seance}", seance, methods=["GET"]),
        Route("/membres", membres, methods=["GET"]),
        Route("/membres/{membre}", membre, methods=["GET"]),
        Route("/livres", livres, methods=["GET"]),
        Route("/livres/{livre}", livre, methods=["GET"]),
        Route("/prets", lambda request: RedirectResponse("/livres", status_code=308), methods=["GET"]),
        Route("/paiements", paiements, methods=["GET"]),
        Route("/live/seances/{seance}", seance_stream, methods=["GET"]),
        Route("/live/livres", livres_stream, methods=["GET"]),
    ]
