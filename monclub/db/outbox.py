"""The transactional outbox: events are written in the same transaction as the change they
describe, with a global sequence number that readers see gapless and in commit order.

The number comes from a single counter row updated in the writing transaction: its row lock is
held until COMMIT, so a second writer waits for the first to commit before taking the next
numbers, and a rolled-back transaction gives its numbers back. (A bigserial alone would be
neither: ids are taken at insert, and rolled-back ones leave holes.)
"""

import json
import re
from collections.abc import Sequence
from dataclasses import fields

import psycopg

from monclub.db import scalar

CHANNEL = "monclub_outbox"
Writer = tuple[str, int, int] | None  # (branch, partition, epoch) of the shard that writes
Record = tuple[str, str, dict]  # (type, aggregate, payload)
# Records of one command: its records, its writer, the writer's node, the request id (None: a timer's)
Part = tuple[list[Record], Writer, str | None, str | None]

_APPEND = """
WITH taken AS (UPDATE outbox_sequence SET seq = seq + %(count)s RETURNING seq)
INSERT INTO events (seq, type, aggregate, payload, branch, partition, epoch, node, request_id)
SELECT taken.seq - %(count)s + e.ord, e.record ->> 0, e.record ->> 1, e.record -> 2,
       e.record ->> 3, (e.record ->> 4)::integer, (e.record ->> 5)::bigint, e.record ->> 6, e.record ->> 7
FROM taken, jsonb_array_elements(%(records)s::text::jsonb) WITH ORDINALITY AS e(record, ord)
"""


_SHAPES: dict[type, tuple[str, tuple[str, ...]]] = {}


def _shape(event_class: type) -> tuple[str, tuple[str, ...]]:
    """An event class's outbox type (its name in snake_case) and its field names, computed once."""
    if event_class not in _SHAPES:
        kind = re.sub(r"(?<!^)(?=[A-Z])", "_", event_class.__name__).lower()
        _SHAPES[event_class] = kind, tuple(field.name for field in fields(event_class))
    return _SHAPES[event_class]


def event_type(event_class: type) -> str:
    """The outbox type of an event class: its name in snake_case (`MembreInscrit`: `membre_inscrit`)."""
    return _shape(event_class)[0]


def event_payload(event) -> tuple[str, dict]:
    """An event's outbox type and its fields (tuples as lists). Events are flat dataclasses, so
    their fields are read directly (dataclasses.asdict copies deeply, and cost more than the
    rest of a command's decision)."""
    kind, names = _shape(type(event))
    values = ((name, getattr(event, name)) for name in names)
    return kind, {name: list(value) if isinstance(value, tuple) else value for name, value in values}


def append_events(
    conn: psycopg.Connection,
    records: list[Record],
    writer: Writer = None,
    node: str | None = None,
    request_id: str | None = None,
) -> None:
    """Append (type, aggregate, payload) records inside the caller's transaction. The records
    travel as one JSON array: one C-speed encoding instead of one per payload. `writer` is the
    (branch, partition, epoch) of the shard that writes them, kept with each event so that the
    audit can find any commit made under a stale epoch; `node` and `request_id` say where and
    why, for the history (none for a timer's event). The relay is woken after the commit
    (`wake_relay`), not in it."""
    conn.execute(*append_statement(records, writer, node, request_id))


def append_statement(
    records: list[Record], writer: Writer = None, node: str | None = None, request_id: str | None = None
) -> tuple[str, dict]:
    """The statement that appends `records` (see append_events), for a caller's own pipeline."""
    return append_parts([(records, writer, node, request_id)])


def append_parts(parts: Sequence[Part]) -> tuple[str, dict]:
    """One statement that appends the records of several commands (of several partitions, in a
    transaction they share: monclub.shards.shared_commit), each kept with its own writer, node and
    request id."""
    rows = [
        [*record, *(writer or (None, None, None)), node, request_id]
        for records, writer, node, request_id in parts
        for record in records
    ]
    return _APPEND, {"count": len(rows), "records": json.dumps(rows)}


def wake_relay(conn: psycopg.Connection) -> None:
    """Wake the relay, wherever it runs, after events were committed: a NOTIFY of its own, outside
    the writing transaction. Inside it, NOTIFY would cost every commit a round trip and a lock
    that serializes the commits of every shard (PostgreSQL takes it at commit to queue the
    notification). Losing it costs nothing but latency: the relay polls every WAKE_SECONDS."""
    conn.execute("SELECT pg_notify(%s, '')", (CHANNEL,))


def read_events(conn: psycopg.Connection, after: int, limit: int = 1000) -> list[dict]:
    rows = conn.execute(
        "SELECT seq, type, aggregate, at, payload FROM events WHERE seq > %s ORDER BY seq LIMIT %s", (after, limit)
    ).fetchall()
    return [event_dict(*row) for row in rows]


def event_dict(seq, kind, aggregate, at, payload) -> dict:
    return {"seq": seq, "type": kind, "aggregate": aggregate, "at": at.isoformat(), "payload": payload}


def latest_seq(conn: psycopg.Connection) -> int:
    return scalar(conn, "SELECT seq FROM outbox_sequence")
