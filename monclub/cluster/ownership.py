"""Who may write for a partition: PostgreSQL is the one arbiter.

A shard process takes a partition in two steps: the session advisory lock (the fast path on one
host), then the epoch bump, allowed once the previous owner's lease has run out by PostgreSQL's
clock, or at once when that owner handed the partition over or is a dead process of this node;
the bump, not the lock, is the proof (a frozen node's session may keep its lock while its lease
runs out: it is then ended). The epoch proves ownership inside every write: each transaction a
shard commits starts with
`monclub_fence(branch, partition, epoch)` (migration 010; in a transaction shared by several
partitions, each partition's part starts with its own), which reads the partition's row
FOR SHARE and fails with SQLSTATE MCF01 once another owner has bumped the epoch. An owner whose
write is fenced knows that nothing of it was committed.
"""

import os

import psycopg
from psycopg import errors

from monclub import registry
from monclub.db import scalar

FENCE = "SELECT monclub_fence(%s, %s, %s)"
FENCED = "MCF01"
LEASE_SECONDS = 2.0


_LEASE = """
SELECT owner, owner_pid, owner_host, extract(epoch FROM lease_until - now())::float8 FROM partitions
WHERE branch = %(branch)s AND partition = %(partition)s
"""
_HOLDER = _LEASE + "FOR UPDATE"
ROW_WAIT = "500ms"
# The row (made if missing) and the take's wait for it, then the new epoch and its record: one
# statement each, as the take's round trips are on a restarted shard's way to its first reply.
_ROW = """
WITH waiting AS (SELECT set_config('lock_timeout', %(wait)s, true))
INSERT INTO partitions (branch, partition) SELECT %(branch)s, %(partition)s FROM waiting ON CONFLICT DO NOTHING
"""
_TAKE = """
WITH taken AS (
    UPDATE partitions SET epoch = epoch + 1, owner = %(owner)s, owner_pid = %(pid)s, owner_host = %(host)s,
        endpoint = %(endpoint)s, lease_until = now() + make_interval(secs => %(lease)s)
    WHERE branch = %(branch)s AND partition = %(partition)s
    RETURNING epoch
)
INSERT INTO epochs (branch, partition, epoch, owner, outbox_seq)
SELECT %(branch)s, %(partition)s, taken.epoch, %(owner)s || ' pid ' || %(pid)s || ' on ' || %(host)s, seq
FROM taken, outbox_sequence
RETURNING epoch
"""
_RENEW = """
UPDATE partitions SET lease_until = now() + make_interval(secs => %s)
WHERE branch = %s AND partition = %s AND epoch = %s
"""


_RELEASE = """
UPDATE partitions SET lease_until = NULL, owner_pid = NULL, endpoint = NULL
WHERE branch = %s AND partition = %s AND epoch = %s
"""


_END_HOLDER = """
SELECT pg_terminate_backend(pid) FROM pg_locks
WHERE locktype = 'advisory' AND classid = %s AND objid = %s AND granted AND pid <> pg_backend_pid()
"""


class FencedOut(Exception):
    """Another owner acquired the partition: this write was refused whole."""


class Held(Exception):
    """The partition's lease is held by a process that may be alive."""

    def __init__(self, owner: str, seconds_left: float):
        super().__init__(f"held by {owner}, lease ends in {max(seconds_left, 0.0):.1f}s")
        self.owner = owner
        self.seconds_left = seconds_left


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def take(
    conn: psycopg.Connection,
    branch: str,
    partition: int,
    owner: str,
    node: str,
    endpoint: str | None = None,
    locked: bool = True,
) -> int:
    """Take the partition for this process of `node`, listening at `endpoint` (the directory's
    entry), with a new epoch and a lease; the epoch.
    Raise Held while another process's lease runs, unless that process is this node's and dead (a
    shard restarted after its predecessor was reaped takes its partition at once): a process of
    another node is only known to be gone when its lease has run out by PostgreSQL's clock. This
    process's own earlier session counts as gone only when this session holds the partition's
    lock (`locked`): the earlier one's is then known to have ended.
    The partition's row may be locked by a transaction of a frozen owner (stopped between its
    fence and its commit): the take waits at most ROW_WAIT for it, then, if that owner's lease has
    run out, ends its session (which frees the row) and raises Held, to be tried again."""
    keys = {
        "branch": branch,
        "partition": partition,
        "owner": owner,
        "pid": os.getpid(),
        "host": node,
        "endpoint": endpoint,
        "lease": LEASE_SECONDS,
        "wait": ROW_WAIT,
    }
    try:
        with conn.transaction():
            conn.execute(_ROW, keys)
            return _bump(conn, keys, locked)
    except errors.LockNotAvailable:
        holder, pid, host, left = conn.execute(_LEASE, keys).fetchone() or (None, None, None, None)
        if left is None or left <= 0:
            end_lock_holder(conn, branch, partition)
        raise Held(f"{holder} (pid {pid}) on {host}, whose transaction holds the row", left or 0.0) from None


def _bump(conn: psycopg.Connection, keys: dict, locked: bool) -> int:
    """The new epoch, in the take's transaction, once the partition's row is locked."""
    holder, pid, host, left = conn.execute(_HOLDER, keys).fetchone() or (None, None, None, None)
    gone = pid is None or (host == keys["host"] and ((locked and pid == keys["pid"]) or not _alive(pid)))
    if left is not None and left > 0 and not gone:
        raise Held(f"{holder} (pid {pid}) on {host}", left)
    return scalar(conn, _TAKE, keys)


def warm(conn: psycopg.Connection) -> None:
    """Read, finding nothing, the tables a take and a shard's first read of the live nodes use
    (monclub.shards.store's `warm`)."""
    conn.execute(_LEASE, {"branch": "", "partition": -1})
    conn.execute("SELECT 1 FROM epochs, outbox_sequence, nodes WHERE false")


def renew(conn: psycopg.Connection, branch: str, partition: int, epoch: int) -> None:
    """Extend the lease of the epoch this session acquired; FencedOut if it is no longer current."""
    if conn.execute(_RENEW, (LEASE_SECONDS, branch, partition, epoch)).rowcount != 1:
        raise FencedOut(f"partition {branch}/{partition} is no longer owned at epoch {epoch}")


def release(conn: psycopg.Connection, branch: str, partition: int, epoch: int) -> None:
    """Give up the partition owned at `epoch`: no lease, no endpoint in the directory."""
    conn.execute(_RELEASE, (branch, partition, epoch))


def end_lock_holder(conn: psycopg.Connection, branch: str, partition: int) -> None:
    """End the session that holds the partition's advisory lock (after this session took the
    partition from it: its epoch is stale already, this only frees the lock and the connection)."""
    conn.execute(_END_HOLDER, (registry.LOCK_CLASSES[branch], partition))


def lock(conn: psycopg.Connection, branch: str, partition: int) -> bool:
    """Take the session advisory lock of the partition; False if another session holds it."""
    return bool(scalar(conn, "SELECT pg_try_advisory_lock(%s, %s)", (registry.LOCK_CLASSES[branch], partition)))


def fenced(error: psycopg.Error) -> bool:
    return error.sqlstate == FENCED
