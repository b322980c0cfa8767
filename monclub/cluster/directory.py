"""The directory of owners: where each partition of a branch lives, as PostgreSQL records it.

The owners keep it themselves: taking a partition writes the owner's endpoint and node with the
new epoch (monclub.cluster.ownership.take), so the directory is exactly as current as ownership.
A shard process reads it to name the owner of a partition it does not host (`wrong_owner`) and
to answer the `directory` op, from which a client in any language learns where every partition
lives (docs/protocol.md). Read at most every `ttl` seconds; an entry may be stale by then, which
costs a client one more redirect, never a wrong answer (the owner itself checks every request).
"""

import logging
import time
from collections.abc import Callable

import psycopg

from monclub.db import connect

log = logging.getLogger(__name__)
TTL = 0.5

_OWNERS = """
SELECT partition, endpoint, owner_host, owner_pid, owner, epoch,
    greatest(extract(epoch FROM lease_until - now()), 0)::float8
FROM partitions WHERE branch = %s AND endpoint IS NOT NULL
    AND (%s::int[] IS NULL OR partition = ANY(%s::int[])) ORDER BY partition
"""
_FIELDS = ("partition", "endpoint", "node", "pid", "shard", "epoch", "lease_left")


def owners(conn: psycopg.Connection, branch: str, partitions: list[int] | None = None) -> list[dict]:
    """Each owned partition of `branch` (of `partitions`, all by default): where its owner listens,
    its node, its shard process and pid, its epoch and the seconds left on its lease."""
    rows = conn.execute(_OWNERS, (branch, partitions, partitions)).fetchall()
    return [dict(zip(_FIELDS, (*row[:-1], round(row[-1], 3)), strict=True)) for row in rows]


def describe(conn: psycopg.Connection, branch: str) -> dict:
    """The `directory` reply of any endpoint: the branch's partition count (as the database
    recorded it) and its owners."""
    row = conn.execute("SELECT value FROM meta WHERE key = %s", (f"{branch}_partitions",)).fetchone()
    return {"branch": branch, "partitions": int(row[0]) if row else None, "owners": owners(conn, branch)}


class Directory:
    """A shard process's view of the directory, on a connection of its own opened when first needed."""

    def __init__(self, conninfo: str, branch: str, ttl: float = TTL, clock: Callable[[], float] = time.monotonic):
        self.conninfo = conninfo
        self.branch = branch
        self.ttl = ttl
        self.clock = clock
        self.conn: psycopg.Connection | None = None
        self.cached: list[dict] = []
        self.read_at = float("-inf")

    def entries(self) -> list[dict]:
        """The directory as last read; read again when older than `ttl` (the last one read if
        the database cannot be reached)."""
        if self.clock() - self.read_at < self.ttl:
            return self.cached
        try:
            if self.conn is None or self.conn.closed:
                self.conn = connect(self.conninfo, autocommit=True)
            self.cached = owners(self.conn, self.branch)
            self.read_at = self.clock()
        except psycopg.Error as error:
            log.warning("directory of %s unreadable: %s", self.branch, str(error).strip()[:200])
            self.close()
        return self.cached

    def owner_of(self, partition: int) -> dict | None:
        return next((entry for entry in self.entries() if entry["partition"] == partition), None)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
