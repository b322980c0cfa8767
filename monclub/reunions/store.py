"""Persistence of séances: load one séance, write one command's events and its reply atomically.

Every write happens on the connection that holds the shard's ownership lock (a session advisory
lock): if that session is lost, so is the lock, and this connection can no longer write.
"""

import re
from dataclasses import asdict

import psycopg
from psycopg import errors

from monclub.db import connect
from monclub.errors import Unavailable
from monclub.reunions.seance import (
    MembreDesinscrit,
    MembreInscrit,
    MembreMisEnAttente,
    MembrePromu,
    PlacesChangees,
    Seance,
    SeanceAnnulee,
    SeanceCreee,
)
from monclub.events.outbox import append_events

BRANCH_LOCK_CLASS = 0x4D43_0100


class AlreadyApplied(Exception):
    """The request id is already recorded: its stored reply is the answer."""

    def __init__(self, reply: bytes):
        super().__init__("request already applied")
        self.reply = reply


def _sql(event) -> tuple[str, tuple]:
    match event:
        case SeanceCreee():
            return (
                "INSERT INTO seances (id, titre, places, attente_max, tarif) VALUES (%s, %s, %s, %s, %s)",
                (event.seance, event.titre, event.places, event.attente_max, event.tarif),
            )
        case MembreInscrit():
            return (
                "INSERT INTO inscriptions (seance_id, membre_id, statut) VALUES (%s, %s, 'inscrit')",
                (event.seance, event.membre),
            )
        case MembreMisEnAttente():
            return (
                "INSERT INTO inscriptions (seance_id, membre_id, statut) VALUES (%s, %s, 'attente')",
                (event.seance, event.membre),
            )
        case MembreDesinscrit():
            return "DELETE FROM inscriptions WHERE seance_id = %s AND membre_id = %s", (event.seance, event.membre)
        case MembrePromu():
            return (
                "UPDATE inscriptions SET statut = 'inscrit', rang = nextval('inscription_rang')"
                " WHERE seance_id = %s AND membre_id = %s AND statut = 'attente'",
                (event.seance, event.membre),
            )
        case PlacesChangees():
            return "UPDATE seances SET places = %s WHERE id = %s", (event.places, event.seance)
        case SeanceAnnulee():
            return "UPDATE seances SET annulee = true WHERE id = %s", (event.seance,)
    raise TypeError(f"no SQL for {event!r}")


def outbox_record(event, after: Seance) -> tuple[str, str, dict]:
    """(type, aggregate, payload) of a séance event: its fields, plus the séance's titre and tarif
    so that listeners need not look them up."""
    kind = re.sub(r"(?<!^)(?=[A-Z])", "_", type(event).__name__).lower()
    payload = {name: list(v) if isinstance(v, tuple) else v for name, v in asdict(event).items()}
    return kind, f"seance/{event.seance}", {**payload, "titre": after.titre, "tarif": after.tarif}


class SeanceStore:
    def __init__(self, conn: psycopg.Connection, shard: str):
        self.conn = conn
        self.shard = shard

    @classmethod
    def open(cls, conninfo: str, shard: str, index: int) -> "SeanceStore":
        """Connect and take ownership of the shard, or raise Unavailable."""
        try:
            conn = connect(conninfo, autocommit=True)
        except psycopg.OperationalError as error:
            raise Unavailable(f"database unreachable: {str(error).strip().splitlines()[0]}") from None
        owned = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (BRANCH_LOCK_CLASS, index)).fetchone()[0]
        if not owned:
            conn.close()
            raise Unavailable(f"another process owns {shard}; retry shortly")
        return cls(conn, shard)

    @property
    def usable(self) -> bool:
        return not self.conn.closed and not self.conn.broken

    def close(self) -> None:
        self.conn.close()

    def charger(self, seance_id: str) -> Seance | None:
        row = self.conn.execute(
            "SELECT titre, places, attente_max, tarif, annulee FROM seances WHERE id = %s", (seance_id,)
        ).fetchone()
        if row is None:
            return None
        titre, places, attente_max, tarif, annulee = row
        rows = self.conn.execute(
            "SELECT membre_id, statut FROM inscriptions WHERE seance_id = %s ORDER BY rang", (seance_id,)
        ).fetchall()
        return Seance(
            seance_id, titre, places, attente_max, tarif,
            inscrits=tuple(m for m, statut in rows if statut == "inscrit"),
            attente=tuple(m for m, statut in rows if statut == "attente"),
            annulee=annulee,
        )

    def membre_existe(self, membre: int) -> bool:
        return self.conn.execute("SELECT 1 FROM membres WHERE id = %s", (membre,)).fetchone() is not None

    def reponse(self, request_id: str) -> bytes | None:
        row = self.conn.execute("SELECT reply FROM requests WHERE id = %s", (request_id,)).fetchone()
        return None if row is None else bytes(row[0])

    def enregistrer(self, request_id: str, events: list, after: Seance | None, reply: bytes) -> None:
        """Write the state changes, the outbox events and the reply in one transaction (one round
        trip, in a pipeline); the outbox goes last, to hold its sequence lock the least time."""
        try:
            with self.conn.transaction(), self.conn.pipeline():
                self.conn.execute(
                    "INSERT INTO requests (id, shard, reply) VALUES (%s, %s, %s)", (request_id, self.shard, reply)
                )
                for event in events:
                    self.conn.execute(*_sql(event))
                if events:
                    append_events(self.conn, [outbox_record(event, after) for event in events])
        except errors.UniqueViolation as error:
            if error.diag.constraint_name != "requests_pkey":
                raise
            raise AlreadyApplied(self.reponse(request_id)) from None
