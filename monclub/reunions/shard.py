"""A séance shard: the single owner, in memory, of the séances of one partition.

For each command: validate, decide against memory with the pure core, write the events and the
reply in one transaction, and only after the commit keep the new state and answer. The séances
are loaded lazily on first use, so restarting a shard costs the same whatever it owns.
"""

import logging
import os

import psycopg

from monclub import protocol, wire
from monclub.errors import MonclubError, Refus, Unavailable
from monclub.partition import shard_of
from monclub.reunions import seance as core
from monclub.reunions.store import AlreadyApplied, SeanceStore

log = logging.getLogger(__name__)


def _result(op: str, events: list, after: core.Seance) -> dict:
    if op == "creer":
        return {"seance": core.etat(after)}
    if op == "inscrire":
        first = events[0]
        if isinstance(first, core.MembreMisEnAttente):
            return {"statut": "en_attente", "position": first.position}
        return {"statut": "inscrit"}
    promus = [e.membre for e in events if isinstance(e, core.MembrePromu)]
    if op == "desinscrire":
        return {"statut": "desinscrit", "promu": promus[0] if promus else None}
    if op == "annuler":
        return {"statut": "annulee", "inscrits": list(events[0].inscrits), "attente": list(events[0].attente)}
    return {"places": after.places, "promus": promus}


class SeanceShard:
    def __init__(self, index: int, shards: int, conninfo: str, fault: str | None = None):
        self.index = index
        self.shards = shards
        self.name = f"reunions/shard-{index}"
        self.conninfo = conninfo
        self.store: SeanceStore | None = None
        self.seances: dict[str, core.Seance] = {}
        self.membres: set[int] = set()
        self.unresolved: set[str] = set()
        self.handled = 0
        self.stale_memory = fault == "stale_memory"

    def handle(self, request: protocol.Request) -> dict | None:
        """The reply to one request, or None when its outcome is unknown for now (no answer:
        the client resends the same id, which is resolved once the database is back)."""
        self.handled += 1
        try:
            if request.op == "ping":
                return protocol.ok(request.id, self._ping())
            self._check_partition(request.args["seance"])
            if request.mutates:
                return self._command(request)
            return protocol.ok(request.id, self._query(request))
        except MonclubError as error:
            if request.id in self.unresolved:
                return None
            return protocol.error(request.id, error.code, error.message)
        except psycopg.Error as error:
            self._lose_connection(error)
            return None if request.id in self.unresolved else protocol.error(request.id, "unavailable", "database error; nothing was committed")

    def _ping(self) -> dict:
        return {"shard": self.name, "pid": os.getpid(), "loaded": len(self.seances), "handled": self.handled}

    def _check_partition(self, seance_id: str) -> None:
        owner = shard_of(seance_id, self.shards)
        if owner != self.index:
            raise MonclubError(f"seance {seance_id} belongs to shard {owner}, not {self.index}", "wrong_shard")

    def _store(self) -> SeanceStore:
        if self.store is None or not self.store.usable:
            self.forget_all()
            self.store = SeanceStore.open(self.conninfo, self.name, self.index)
        return self.store

    def forget_all(self) -> None:
        """Drop memory: whoever owned the shard while we had no session may have written.
        (The injected fault `stale_memory` keeps it, and updates it before the commit: a broken
        shard that trusts its memory, for drills that test the auditor.)"""
        if self.store is not None:
            self.store.close()
        self.store = None
        if not self.stale_memory:
            self.seances.clear()
        self.membres.clear()

    def _lose_connection(self, error: Exception) -> None:
        log.warning("%s: database connection lost (%s); memory dropped", self.name, str(error).strip()[:200])
        self.forget_all()

    def _seance(self, seance_id: str) -> core.Seance | None:
        if seance_id not in self.seances:
            loaded = self._store().charger(seance_id)
            if loaded is None:
                return None
            self.seances[seance_id] = loaded
        return self.seances[seance_id]

    def _existing(self, seance_id: str) -> core.Seance:
        found = self._seance(seance_id)
        if found is None:
            raise Refus(f"no seance {seance_id}", "seance_inconnue")
        return found

    def _membre(self, membre: int) -> int:
        if membre not in self.membres:
            if not self._store().membre_existe(membre):
                raise Refus(f"no membre {membre}", "membre_inconnu")
            self.membres.add(membre)
        return membre

    def _query(self, request: protocol.Request) -> dict:
        found = self._existing(request.args["seance"])
        if request.op == "etat":
            return core.etat(found)
        return {"places_restantes": core.places_restantes(found)}

    def _decide(self, request: protocol.Request) -> tuple[core.Seance | None, list]:
        args = request.args
        if request.op == "creer":
            if self._seance(args["seance"]) is not None:
                raise Refus(f"seance {args['seance']} already exists", "seance_existe")
            return None, core.creer(args["seance"], args["titre"], args["places"], args["attente"], args["tarif"])
        current = self._existing(args["seance"])
        if request.op == "inscrire":
            return current, core.inscrire(current, self._membre(args["membre"]))
        if request.op == "desinscrire":
            return current, core.desinscrire(current, self._membre(args["membre"]))
        if request.op == "annuler":
            return current, core.annuler(current)
        return current, core.changer_places(current, args["places"])

    def _command(self, request: protocol.Request) -> dict:
        store = self._store()
        seance_id = request.args["seance"]
        try:
            before, events = self._decide(request)
            after = core.appliquer_tous(before, events)
            reply = protocol.ok(request.id, _result(request.op, events, after))
        except Refus as refus:
            after, events = None, []
            reply = protocol.error(request.id, refus.code, refus.message)
        except (MonclubError, psycopg.Error):
            raise
        except Exception:
            log.exception("%s: command %s on %s failed; seance dropped from memory", self.name, request.op, seance_id)
            self._drop(seance_id)
            return protocol.error(request.id, "internal_error", f"internal error on seance {seance_id}; nothing was committed")
        return self._commit(store, request, seance_id, events, after, reply)

    def _commit(self, store, request, seance_id, events, after, reply) -> dict | None:
        if self.stale_memory and events:
            self.seances[seance_id] = after
        self.unresolved.add(request.id)
        try:
            store.enregistrer(request.id, events, after, wire.encode(reply))
        except AlreadyApplied as applied:
            self.unresolved.discard(request.id)
            return wire.decode(applied.reply)
        except psycopg.Error as error:
            if not store.usable:
                self._lose_connection(error)
                return self._resolve(request.id)
            self.unresolved.discard(request.id)
            log.error("%s: the write on %s was refused and rolled back (%s); seance reloaded", self.name, seance_id, error)
            self._drop(seance_id)
            return protocol.error(request.id, "internal_error", f"the write on {seance_id} failed; nothing was committed")
        self.unresolved.discard(request.id)
        if events:
            self.seances[seance_id] = after
        return reply

    def _drop(self, seance_id: str) -> None:
        """Forget one séance; it is reloaded from PostgreSQL on its next message."""
        if not self.stale_memory:
            self.seances.pop(seance_id, None)

    def _resolve(self, request_id: str) -> dict | None:
        """After a lost connection the commit may or may not have happened: ask the database."""
        try:
            stored = self._store().reponse(request_id)
        except (Unavailable, psycopg.Error):
            self.forget_all()
            return None
        self.unresolved.discard(request_id)
        if stored is not None:
            return wire.decode(stored)
        return protocol.error(request_id, "unavailable", "database connection lost before commit; nothing was committed")
