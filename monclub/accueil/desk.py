"""The accueil's handler: each request decided alone, on one PostgreSQL session.

A query reads one page of a listing. A mutation is exactly-once by request id, as on the shards:
in one transaction, the stored reply of the id if there is one, else the change, its event in the
outbox (`membre_cree`, `paiement_regle`: a member's history is whole) and its reply stored in
`requests`; a refusal (`paiement_inconnu`, `paiement_clos`) is stored too, with no event. When the
session dies before the COMMIT, nothing was committed (`unavailable`); when it dies during the
COMMIT, or the server warns that the synchronous standby may not have it (monclub.db.syncrep), the
outcome is looked up by id on a new one, and a stored reply is answered only once the standby has
it; while the database cannot say, the request gets no reply (the client resends the same id), as
on a shard.
"""

import contextlib
from collections.abc import Callable
from types import SimpleNamespace

import psycopg
from psycopg import errors

from monclub.accueil.ops import OPS
from monclub.cluster import directory
from monclub.contract import protocol
from monclub.db import SESSION_LOST, history, reads, syncrep
from monclub.db.membres import creer_membre
from monclub.db.outbox import Record, append_events, wake_relay
from monclub.errors import MonclubError
from monclub.events.paiements import regler
from monclub.shards.service import NOTHING, Service
from monclub.wire import codec as wire
from monclub.wire.stored import empreinte, stored_reply

NAME = "accueil"
_STORED = "SELECT reply, empreinte FROM requests WHERE id = %s"
_STORE = "INSERT INTO requests (id, shard, reply, empreinte) VALUES (%s, %s, %s, %s)"

# Each listing: its read (monclub.db.reads) and the key of a row that the next page starts after.
LISTINGS: dict[str, tuple[Callable[..., list[dict]], str]] = {
    "membres": (reads.membres, "id"),
    "seances": (reads.seances, "id"),
    "livres": (reads.livres, "id"),
    "prets": (reads.prets_par_livre, "livre"),
    "paiements": (reads.paiements, "id"),
    "notifications": (reads.notifications, "id"),
}


def _creer_membre(conn: psycopg.Connection, args: dict) -> tuple[dict, list[Record]]:
    membre = creer_membre(conn, args["nom"], args["email"])
    return {"membre": {"id": membre, "nom": args["nom"], "email": args["email"]}}, [
        ("membre_cree", f"membre/{membre}", {"membre": membre, "nom": args["nom"], "email": args["email"]})
    ]


def _regler_paiement(conn: psycopg.Connection, args: dict) -> tuple[dict, list[Record]]:
    paiement = regler(conn, args["paiement"])
    event = {"paiement": paiement["id"], **{key: paiement[key] for key in ("seance", "membre", "montant")}}
    return {"paiement": paiement}, [("paiement_regle", f"paiement/{paiement['id']}", event)]


# Each mutation: its reply's result and its events, in the caller's transaction.
MUTATIONS: dict[str, Callable[[psycopg.Connection, dict], tuple[dict, list[Record]]]] = {
    "creer_membre": _creer_membre,
    "regler_paiement": _regler_paiement,
}


def page(conn: psycopg.Connection, op: str, args: dict) -> dict:
    """One page of a listing: at most `limite` rows, and `suivant`, the `apres` of the next page
    (None after the last one)."""
    read, key = LISTINGS[op]
    limite = args["limite"]
    rows = read(conn, **{**args, "limite": limite + 1})
    more = len(rows) > limite
    rows = rows[:limite]
    return {op: rows, "suivant": rows[-1][key] if more else None}


def history_page(conn: psycopg.Connection, aggregate: str, apres: int | None, limite: int) -> dict:
    """One page of a history (`aggregate` is `membre/N` for the events naming a member), and
    `suivant`, the position the next page starts after (None after the last one)."""
    kind, _, key = aggregate.partition("/")
    membre = int(key) if kind == "membre" else None
    rows = history.page(conn, None if membre else aggregate, membre, apres, limite + 1)
    more = len(rows) > limite
    return {"history": rows[:limite], "suivant": history.cursor(rows[limite - 1]) if more else None}


def _stored_reply(request: protocol.Request, row: tuple) -> dict:
    reply, fingerprint = row
    return stored_reply(request, bytes(reply), None if fingerprint is None else bytes(fingerprint))


class Accueil(Service):
    name = NAME
    domain = SimpleNamespace(ops=OPS)

    def __init__(self, conninfo: str, node: str | None = None):
        super().__init__(conninfo, node)
        self.unresolved: set[str] = set()
        self.committing = False  # the transaction of `_apply_once` reached its COMMIT

    def decide(self, request: protocol.Request) -> dict | None:
        if request.mutates:
            return self._mutate(request)
        if request.op == "directory":
            return protocol.ok(request.id, directory.describe(self.session(), request.args["branch"]))
        if request.op == "history":
            return protocol.ok(request.id, history_page(self.session(), **request.args))
        return protocol.ok(request.id, page(self.session(), request.op, request.args))

    def unreachable(self, request: protocol.Request) -> dict | None:
        """Silence for a request whose outcome is unknown."""
        return None if request.id in self.unresolved else super().unreachable(request)

    def _mutate(self, request: protocol.Request) -> dict | None:
        conn = self.session()
        if request.id in self.unresolved:
            return self._resolve(request)
        self.unresolved.add(request.id)
        try:
            reply = self._apply_once(conn, request)
        except SESSION_LOST as error:
            self.lose(error)
            if not self.committing:
                self.unresolved.discard(request.id)
                return protocol.error(request.id, "unavailable", f"database connection lost before commit; {NOTHING}")
            return self._resolve(request)
        except psycopg.Error as error:
            self.unresolved.discard(request.id)
            if isinstance(error, errors.UniqueViolation) and error.diag.constraint_name == "requests_pkey":
                return self._resolve(request)  # stored meanwhile by another session
            raise
        self.unresolved.discard(request.id)
        if reply["ok"]:
            with contextlib.suppress(psycopg.Error):  # the relay polls anyway: a lost wake-up costs latency
                wake_relay(conn)
        return reply

    def _apply_once(self, conn: psycopg.Connection, request: protocol.Request) -> dict:
        """The stored reply of the id, or the change and its reply stored, in one transaction.
        `committing` tells a session lost before the COMMIT (nothing committed: `unavailable`)
        from one lost during it (the outcome is looked up by id)."""
        self.committing = False
        with syncrep.confirmed(conn), conn.transaction():
            stored = conn.execute(_STORED, (request.id,)).fetchone()
            if stored is not None:
                self.committing = True
                conn.execute(syncrep.BARRIER)  # answered once the standby has it (a resend after a restart)
                return _stored_reply(request, stored)
            try:
                result, records = MUTATIONS[request.op](conn, request.args)
                append_events(conn, records, node=self.node, request_id=request.id)
                reply = protocol.ok(request.id, result)
            except MonclubError as refusal:
                reply = protocol.error(request.id, refusal.code, refusal.message)
            conn.execute(_STORE, (request.id, NAME, wire.encode(reply), empreinte(request)))
            self.committing = True
        return reply

    def _resolve(self, request: protocol.Request) -> dict | None:
        """After a session died mid-transaction: the stored reply, or `unavailable` if there is
        none (the transaction died with its session), or no reply while the database cannot say."""
        try:
            stored = next(iter(syncrep.durable_rows(self.session(), _STORED, (request.id,))), None)
        except SESSION_LOST as error:
            self.lose(error)
            return None
        self.unresolved.discard(request.id)
        if stored is None:
            return protocol.error(request.id, "unavailable", f"database connection lost; {NOTHING}")
        return _stored_reply(request, stored)
