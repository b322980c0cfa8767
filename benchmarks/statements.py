"""The SQL the benchmark writes by itself beside MonClub, through public paths only (the tables
and functions of the schema): the outbox event of the fair second reference, the registrations of
the ceiling, and a shard's batch of one for the breakdown.

The outbox rows are what MonClub writes for a registration (docs/events.md): type
`membre_inscrit`, aggregate `seance/<id>`, payload {seance, membre, titre, tarif}, numbered from
the one counter row `outbox_sequence` updated in the writing transaction, as the last statement
before COMMIT (its row lock is held until then: gapless numbers in commit order). The relay
publishes such a row as it does a shard's.

`registrations` and `batch_of_one` are MonClub's own statements (monclub/cluster/ownership.py,
monclub/shards/store.py, monclub/reunions/store.py, monclub/db/outbox.py) and its own outbox
records (`shards.domain.outbox_records`), built by the functions the shards use, so they follow the write
path as it changes; the breakdown times them beside a registration through the shard.
"""

import json
from dataclasses import dataclass

from monclub.cluster.ownership import FENCE
from monclub.db.outbox import append_statement
from monclub.reunions.domain import Seances
from monclub.reunions.seance import MembreInscrit, Seance, seance
from monclub.reunions.store import inscriptions
from monclub.shards.batch import Write
from monclub.shards.domain import outbox_records
from monclub.shards.store import replies_statement

_DOMAIN = Seances()

ONE_EVENT = """
WITH taken AS (UPDATE outbox_sequence SET seq = seq + 1 RETURNING seq)
INSERT INTO events (seq, type, aggregate, payload) SELECT taken.seq, %s, %s, %s::jsonb FROM taken
"""


@dataclass(frozen=True)
class Writer:
    """The shard a batch is written for: its branch, partition, epoch and process name."""

    branch: str
    partition: int
    epoch: int
    shard: str


def seance_named(seance_id: str, titre: str, tarif: int) -> Seance:
    """A séance as the domain holds it, for the titre and tarif its outbox records name."""
    return seance(seance_id, titre, 0, 0, tarif)


def _record(target: Seance, membre: int) -> tuple[str, str, dict]:
    return outbox_records(_DOMAIN, [MembreInscrit(target.id, membre)], target)[0]


def one_event(target: Seance, membre: int) -> tuple[str, tuple]:
    """The outbox row of one registration, as a user who wants events would append it."""
    kind, aggregate, payload = _record(target, membre)
    return ONE_EVENT, (kind, aggregate, json.dumps(payload))


def registrations(target: Seance, membres: list[int], writer: Writer | None = None) -> list[tuple[str, object]]:
    """The registrations of `membres` on one séance as the shard writes a batch of them: one
    multi-row INSERT, then their outbox events in one statement."""
    keys = (writer.branch, writer.partition, writer.epoch) if writer else None
    return [
        *inscriptions([MembreInscrit(target.id, membre) for membre in membres]),
        append_statement([_record(target, membre) for membre in membres], keys),
    ]


def batch_of_one(
    writer: Writer, target: Seance, membre: int, request_id: str, reply: bytes, empreinte: bytes
) -> list[tuple[str, object]]:
    """What a shard sends for one registration: the epoch fence, the stored reply with the
    request's fingerprint, the inscription and its outbox event."""
    return [
        (FENCE, (writer.branch, writer.partition, writer.epoch)),
        replies_statement(writer.shard, [(writer.epoch, [Write(request_id, [], [], reply, empreinte)])]),
        *registrations(target, [membre], writer),
    ]
