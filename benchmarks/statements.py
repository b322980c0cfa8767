"""The SQL the benchmark writes by itself beside MonClub, through public paths only (the tables
and functions of the schema): the outbox event of the fair second reference, the registrations of
the ceiling, and a shard's batch of one for the breakdown.

The outbox rows are what MonClub writes for a registration (docs/events.md): type
`membre_inscrit`, aggregate `seance/<id>`, payload {seance, membre, titre, tarif}, numbered from
the one counter row `outbox_sequence` updated in the writing transaction, as the last statement
before COMMIT (its row lock is held until then: gapless numbers in commit order). The relay
publishes such a row as it does a shard's.

`batch_of_one` spells out the statements monclub/shards/store.py, monclub/reunions/store.py and
monclub/db/outbox.py send for one registration (as of the commit that wrote this module: rows as
one JSON text parameter each, bytes in hex; the relay woken after the commit, on another session,
not by a NOTIFY inside it); the breakdown compares the timings of this copy with a registration
through the shard, so a drift of the write path shows there as time left unexplained.
"""

import json
from dataclasses import dataclass

MEMBRE_INSCRIT = "membre_inscrit"

ONE_EVENT = """
WITH taken AS (UPDATE outbox_sequence SET seq = seq + 1 RETURNING seq)
INSERT INTO events (seq, type, aggregate, payload) SELECT taken.seq, %s, %s, %s::jsonb FROM taken
"""
FENCE = "SELECT monclub_fence(%s, %s, %s)"
REPLIES = (
    "INSERT INTO requests (id, shard, epoch, reply, empreinte)"
    " SELECT r ->> 0, %s, %s, decode(r ->> 1, 'hex'), decode(r ->> 2, 'hex')"
    " FROM jsonb_array_elements(%s::text::jsonb) AS r"
)
INSCRIPTIONS = (
    "INSERT INTO inscriptions (seance_id, membre_id, statut)"
    " SELECT i.value ->> 0, (i.value ->> 1)::bigint, i.value ->> 2"
    " FROM jsonb_array_elements(%s::text::jsonb) WITH ORDINALITY AS i(value, ordre) ORDER BY i.ordre"
)
EVENTS = (
    "WITH taken AS (UPDATE outbox_sequence SET seq = seq + %(count)s RETURNING seq)"
    " INSERT INTO events (seq, type, aggregate, payload, branch, partition, epoch)"
    " SELECT taken.seq - %(count)s + e.ord, e.record ->> 0, e.record ->> 1, e.record -> 2,"
    " %(branch)s, %(partition)s, %(epoch)s"
    " FROM taken, jsonb_array_elements(%(records)s::text::jsonb) WITH ORDINALITY AS e(record, ord)"
)


@dataclass(frozen=True)
class Seance:
    """What an outbox record of a registration names of its séance."""

    id: str
    titre: str
    tarif: int


@dataclass(frozen=True)
class Writer:
    """The shard a batch is written for: its branch, partition, epoch and process name."""

    branch: str
    partition: int
    epoch: int
    shard: str


def payload(seance: Seance, membre: int) -> dict:
    return {"seance": seance.id, "membre": membre, "titre": seance.titre, "tarif": seance.tarif}


def one_event(seance: Seance, membre: int) -> tuple[str, tuple]:
    """The outbox row of one registration, as a user who wants events would append it."""
    return ONE_EVENT, (MEMBRE_INSCRIT, f"seance/{seance.id}", json.dumps(payload(seance, membre)))


def registrations(seance: Seance, membres: list[int], writer: Writer | None = None) -> list[tuple[str, object]]:
    """The registrations of `membres` on one séance as the shard writes a batch of them: one
    multi-row INSERT, then their outbox events in one statement."""
    records = [(MEMBRE_INSCRIT, f"seance/{seance.id}", payload(seance, membre)) for membre in membres]
    branch, partition, epoch = (writer.branch, writer.partition, writer.epoch) if writer else (None, None, None)
    keys = {"branch": branch, "partition": partition, "epoch": epoch}
    return [
        (INSCRIPTIONS, (json.dumps([[seance.id, membre, "inscrit"] for membre in membres]),)),
        (EVENTS, {"count": len(records), "records": json.dumps(records), **keys}),
    ]


def batch_of_one(
    writer: Writer, seance: Seance, membre: int, request_id: str, reply: bytes, empreinte: bytes
) -> list[tuple[str, object]]:
    """What a shard sends for one registration: the epoch fence, the stored reply with the
    request's fingerprint, the inscription and its outbox event."""
    stored = json.dumps([[request_id, reply.hex(), empreinte.hex()]])
    return [
        (FENCE, (writer.branch, writer.partition, writer.epoch)),
        (REPLIES, (writer.shard, writer.epoch, stored)),
        *registrations(seance, [membre], writer),
    ]
