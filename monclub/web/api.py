"""The HTTP JSON API: one route per club command of the CLI (docs/http.md).

Every command goes through MonClub's asyncio client, with the Idempotency-Key's request id when
one is sent: a séance's or a copy's to its shard, a new membre or a settled paiement (which no shard
owns) to the accueil. The web program never writes to PostgreSQL: reads come from it (monclub.db.reads,
on read-only sessions) or, for one aggregate, from its shard's query op.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from monclub import registry
from monclub.accueil.desk import history_page
from monclub.accueil.ops import PAGE_MAX
from monclub.client.ids import slug
from monclub.contract import protocol
from monclub.db import reads
from monclub.db.outbox import read_events
from monclub.history.replay import state_then
from monclub.tree import status as tree_status
from monclub.web.requests import Incoming, incoming, path_id, query_int

EVENTS_PAGE = 100
EVENTS_PAGE_MAX = 1000


@dataclass(frozen=True)
class ShardCommand:
    """A route to a shard op: its fields are the op's declared ones, its aggregate id comes from
    the path, or from the body's `id` for a creation (`created`: the part of the result that is
    the answer); a field the declaration gives a default may be left out (`optional`)."""

    branch: str
    op: str
    created: str | None = None

    @property
    def key(self) -> str:
        return registry.branch(self.branch).key

    @property
    def declared(self) -> dict[str, protocol.Field]:
        fields = registry.branch(self.branch).ops().declared[self.op].fields
        return {name: protocol.field(check) for name, check in fields.items() if name != self.key}

    @property
    def fields(self) -> tuple[str, ...]:
        return ("id", *self.declared) if self.created else tuple(self.declared)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(name for name, field in self.declared.items() if field.required)

    @property
    def optional(self) -> dict[str, protocol.Field]:
        """The fields a request may leave out: the declaration says what each is sent with then."""
        return {name: field for name, field in self.declared.items() if not field.required}


def _web(request: Request):
    return request.app.state.web


def _aggregate_id(request: Request, spec: ShardCommand, got: Incoming, fields: dict) -> str:
    """The séance or copy the command names; a creation without an `id` gets one from its titre,
    the same for every resend of one Idempotency-Key (so that a resend reaches the same shard)."""
    if not spec.created:
        return path_id(request, spec.key)
    given = fields.pop("id", None)
    if given is not None:
        return protocol.seance_id("id", given)
    titre = protocol.titre("titre", fields["titre"])
    return slug(titre, hashlib.sha256(got.key.encode()).hexdigest()[:4] if got.key else None)


def shard_route(path: str, spec: ShardCommand) -> Route:
    allowed, required, optional = spec.fields, spec.required, spec.optional  # from the declarations, once per route

    async def endpoint(request: Request) -> JSONResponse:
        web = _web(request)
        got = await incoming(request, web.settings.max_body, allowed, required)
        fields = {**{name: field.sent_when_left_out(web.config) for name, field in optional.items()}, **got.body}
        key = _aggregate_id(request, spec, got, fields)
        with web.metrics.command(spec.branch, spec.op):
            result = await web.client.command(spec.branch, spec.op, key, got.request_id, **fields)
        if spec.created:
            return JSONResponse(result[spec.created], status_code=201)
        return JSONResponse(result)

    return Route(path, endpoint, methods=["POST"])


def accueil_route(
    path: str, op: str, fields: tuple[str, ...], required: tuple[str, ...], status: int, command: Callable
) -> Route:
    """A command of the accueil: `command(request, body)` gives the fields it is sent with (the
    accueil's op table checks them before sending) and the part of its result that is the answer."""

    async def endpoint(request: Request) -> JSONResponse:
        web = _web(request)
        got = await incoming(request, web.settings.max_body, fields, required)
        sent, answer = command(request, got.body)
        with web.metrics.command("accueil", op):
            result = await web.client.accueil(op, got.request_id, **sent)
        return JSONResponse(result[answer], status_code=status)

    return Route(path, endpoint, methods=["POST"])


def _membre(request: Request, body: dict) -> tuple[dict, str]:
    return {"nom": body["nom"], "email": body.get("email")}, "membre"


def _reglement(request: Request, body: dict) -> tuple[dict, str]:
    return {"paiement": _int_path(request, "paiement")}, "paiement"


def _int_path(request: Request, name: str) -> int:
    text = request.path_params[name]
    return protocol.row_id(name, int(text) if text.isdigit() and len(text) < 20 else -1)


def read_route(path: str, read: Callable, *params: Callable) -> Route:
    """A listing from PostgreSQL: `read(conn, *values)`, each value taken from the request by a
    function of `params` (a query parameter, checked)."""

    async def endpoint(request: Request) -> JSONResponse:
        values = [param(request) for param in params]
        return JSONResponse(await _web(request).db.run(read, *values))

    return Route(path, endpoint, methods=["GET"])


def aggregate_route(path: str, branch: str, name: str) -> Route:
    """One séance or copy as its shard knows it (its `etat` query), with the process that owns it."""

    async def endpoint(request: Request) -> JSONResponse:
        web = _web(request)
        aggregate = path_id(request, name)
        etat = await web.client.command(branch, "etat", aggregate)
        owner = await web.run_blocking(lambda: tree_status.owner(web.config, branch, aggregate))
        return JSONResponse({**etat, "owner": owner})

    return Route(path, endpoint, methods=["GET"])


def history_route(path: str, kind: str) -> Route:
    """A séance's, a copy's or a member's history, a page at a time (`apres`, `limite`, as the
    accueil's `history` op), or with `at` the state a séance or copy had then."""

    async def endpoint(request: Request) -> JSONResponse:
        aggregate = protocol.aggregate(kind, f"{kind}/{request.path_params[kind]}")
        db = _web(request).db
        at = request.query_params.get("at")
        if at is not None:  # with its offset, as a program sends `quand`: the club's zone is the CLI's
            when = datetime.fromisoformat(protocol.quand("at", at))
            return JSONResponse(await db.run(state_then, aggregate, when))
        apres = query_int(request, "apres", protocol.row_id)
        limite = min(query_int(request, "limite", protocol.row_id) or PAGE_MAX, PAGE_MAX)
        return JSONResponse(await db.run(history_page, aggregate, apres, limite))

    return Route(path, endpoint, methods=["GET"])


def _events(conn, start: int, limit: int) -> dict:
    found = read_events(conn, start - 1, limit)
    return {"events": found, "next": found[-1]["seq"] + 1 if found else start}


def _events_from(request: Request) -> int:
    return query_int(request, "from", protocol.row_id) or 1


def _events_limit(request: Request) -> int:
    return min(query_int(request, "limit", protocol.row_id) or EVENTS_PAGE, EVENTS_PAGE_MAX)


def _en_retard(request: Request) -> bool:
    return request.query_params.get("en_retard", "false").lower() in ("true", "1", "yes")


def _seance_param(request: Request) -> str | None:
    value = request.query_params.get("seance")
    return None if value is None else protocol.seance_id("seance", value)


def _membre_param(request: Request) -> int | None:
    return query_int(request, "membre", protocol.membre_id)


async def status(request: Request) -> JSONResponse:
    """The tree, as `monclub status --json` shows it."""
    return JSONResponse(await _web(request).tree.current())


async def ping(request: Request) -> JSONResponse:
    """Nothing but an answer: liveness, and the load generator's ceiling (scripts/bench web)."""
    return JSONResponse({"ok": True})


def routes() -> list[Route]:
    reunions, prets = "reunions", "prets"
    return [
        accueil_route("/api/membres", "creer_membre", ("nom", "email"), ("nom",), 201, _membre),
        read_route("/api/membres", reads.membres),
        shard_route("/api/seances", ShardCommand(reunions, "creer", created="seance")),
        read_route("/api/seances", reads.seances),
        aggregate_route("/api/seances/{seance}", reunions, "seance"),
        shard_route("/api/seances/{seance}/places", ShardCommand(reunions, "changer_places")),
        shard_route("/api/seances/{seance}/annuler", ShardCommand(reunions, "annuler")),
        shard_route("/api/seances/{seance}/deplacer", ShardCommand(reunions, "deplacer")),
        shard_route("/api/seances/{seance}/inscrire", ShardCommand(reunions, "inscrire")),
        shard_route("/api/seances/{seance}/desinscrire", ShardCommand(reunions, "desinscrire")),
        shard_route("/api/livres", ShardCommand(prets, "ajouter", created="livre")),
        read_route("/api/livres", reads.livres),
        aggregate_route("/api/livres/{livre}", prets, "livre"),
        shard_route("/api/livres/{livre}/emprunter", ShardCommand(prets, "emprunter")),
        shard_route("/api/livres/{livre}/retourner", ShardCommand(prets, "retourner")),
        shard_route("/api/livres/{livre}/prolonger", ShardCommand(prets, "prolonger")),
        read_route("/api/prets", reads.prets_en_cours, _en_retard),
        read_route("/api/paiements", reads.paiements, _seance_param),
        accueil_route("/api/paiements/{paiement}/regler", "regler_paiement", (), (), 200, _reglement),
        read_route("/api/notifications", reads.notifications, _membre_param),
        read_route("/api/events", _events, _events_from, _events_limit),
        history_route("/api/seances/{seance}/history", "seance"),
        history_route("/api/livres/{livre}/history", "livre"),
        history_route("/api/membres/{membre}/history", "membre"),
        Route("/api/status", status, methods=["GET"]),
        Route("/api/ping", ping, methods=["GET"]),
    ]
