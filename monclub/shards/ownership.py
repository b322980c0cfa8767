"""Who may write for a partition: PostgreSQL is the one arbiter.

A shard process takes its partition in two steps: the session advisory lock (the fast path on one
host: a second process cannot take it while the first one's session lives), then the epoch bump,
which proves ownership inside every write: each transaction a shard commits starts with
`monclub_fence(branch, partition, epoch)` (migration 010), which reads the partition's row
FOR SHARE and fails with SQLSTATE MCF01 once another owner has bumped the epoch. An owner whose
write is fenced knows that nothing of it was committed.
"""

import psycopg

from monclub.db import scalar

LOCK_CLASSES = {"reunions": 0x4D43_0100, "prets": 0x4D43_0300}
FENCE = "SELECT monclub_fence(%s, %s, %s)"
FENCED = "MCF01"

_BUMP = """
INSERT INTO partitions (branch, partition, epoch, owner) VALUES (%(branch)s, %(partition)s, 1, %(owner)s)
ON CONFLICT (branch, partition) DO UPDATE SET epoch = partitions.epoch + 1, owner = EXCLUDED.owner
RETURNING epoch
"""
_RECORD = """
INSERT INTO epochs (branch, partition, epoch, owner, outbox_seq)
SELECT %(branch)s, %(partition)s, %(epoch)s, %(owner)s, seq FROM outbox_sequence
"""


class FencedOut(Exception):
    """Another owner acquired the partition: this write was refused whole."""


def lock(conn: psycopg.Connection, branch: str, partition: int) -> bool:
    """Take the session advisory lock of the partition; False if another session holds it."""
    return bool(scalar(conn, "SELECT pg_try_advisory_lock(%s, %s)", (LOCK_CLASSES[branch], partition)))


def acquire(conn: psycopg.Connection, branch: str, partition: int, owner: str) -> int:
    """Bump the partition's epoch and record the acquisition; the new epoch. The outbox position
    is read by a statement of its own, after the bump: the bump waits for every transaction that
    passed the fence, so whatever the old owner committed is at or before that position."""
    keys = {"branch": branch, "partition": partition, "owner": owner}
    with conn.transaction():
        epoch = scalar(conn, _BUMP, keys)
        conn.execute(_RECORD, {**keys, "epoch": epoch})
    return epoch


def fenced(error: psycopg.Error) -> bool:
    return error.sqlstate == FENCED
