"""Which partitions a shard process should host: the live nodes, as PostgreSQL records them, and
rendezvous hashing.

Every shard process beats its node's heartbeat in the `nodes` table and reads the live nodes (seen
within NODE_TIMEOUT seconds, not draining), at most every BEAT seconds. Each partition goes to
the live node with the highest BLAKE2b hash of `branch/partition/node` (rendezvous hashing: when a
node joins or leaves, only the partitions it gains or loses move; not CRC-32, whose values for
names that differ in one byte are too alike to spread), and on that node to process
`partition mod N`. The assignment only says who should *try* to own a partition: PostgreSQL stays
the arbiter (epochs and leases, monclub.cluster.ownership), so two processes that disagree for a
moment (one saw a node die, the other not yet) can never both own it.
"""

import hashlib
import logging
import time
from collections.abc import Callable

import psycopg

from monclub.cluster.partition import host_of
from monclub.db import connect

log = logging.getLogger(__name__)
BEAT = 0.5
NODE_TIMEOUT = 2.0

_BEAT = "INSERT INTO nodes (node) VALUES (%s) ON CONFLICT (node) DO UPDATE SET seen = now()"
_LIVE = "SELECT node FROM nodes WHERE seen > now() - make_interval(secs => %s) AND NOT draining ORDER BY node"


def assigned_node(branch: str, partition: int, nodes: list[str]) -> str | None:
    """The live node that should host `partition` (None when no node is live)."""
    return max(nodes, key=lambda node: _weight(f"{branch}/{partition}/{node}"), default=None)


def _weight(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest())


def wanted(branch: str, partitions: int, shards: int, index: int, node: str, nodes: list[str]) -> set[int]:
    """The partitions that process `index` of `shards` on `node` should host, the live nodes being `nodes`."""
    return {
        partition
        for partition in range(partitions)
        if host_of(partition, shards) == index and assigned_node(branch, partition, nodes) == node
    }


class Membership:
    """A shard process's view of the live nodes, on a connection of its own, beating its node's
    heartbeat each time it reads."""

    def __init__(self, conninfo: str, node: str, clock: Callable[[], float] = time.monotonic):
        self.conninfo = conninfo
        self.node = node
        self.clock = clock
        self.conn: psycopg.Connection | None = None
        self.nodes: list[str] | None = None
        self.read_at = float("-inf")

    def live_nodes(self) -> list[str] | None:
        """The live nodes, read at most every BEAT seconds; None while they cannot be read (the
        process then keeps what it hosts)."""
        if self.clock() - self.read_at < BEAT:
            return self.nodes
        self.read_at = self.clock()
        try:
            if self.conn is None or self.conn.closed:
                self.conn = connect(self.conninfo, autocommit=True)
            self.conn.execute(_BEAT, (self.node,))
            self.nodes = [row[0] for row in self.conn.execute(_LIVE, (NODE_TIMEOUT,)).fetchall()]
        except psycopg.Error as error:
            log.warning("live nodes unreadable: %s", str(error).strip()[:200])
            self.close()
            self.nodes = None
        return self.nodes

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
