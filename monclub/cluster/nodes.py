"""The `nodes` table (migration 013): the nodes of a cluster, their heartbeats, and which are
being drained; what `monclub node` and `status --cluster` read and write. The relay's row of the
partitions table (a lease, not a partition: it does not move with a drain) is left out."""

import psycopg

from monclub.cluster.membership import NODE_TIMEOUT

_NODES = """
SELECT n.node, extract(epoch FROM now() - n.seen)::float8, n.draining,
    count(p.partition) FILTER (WHERE p.lease_until > now())
FROM nodes n LEFT JOIN partitions p ON p.owner_host = n.node AND p.endpoint IS NOT NULL AND p.branch <> 'relay'
GROUP BY n.node, n.seen, n.draining ORDER BY n.node
"""


def join(conn: psycopg.Connection, node: str) -> None:
    """The node (re)starting: seen now, and no longer draining."""
    conn.execute(
        "INSERT INTO nodes (node) VALUES (%s) ON CONFLICT (node) DO UPDATE SET seen = now(), draining = false",
        (node,),
    )


def nodes(conn: psycopg.Connection) -> list[dict]:
    """Each node: seconds since its last heartbeat, whether it is live, draining, and how many
    partitions it owns under a running lease."""
    return [
        {"node": node, "seen_ago": round(ago, 3), "live": ago < NODE_TIMEOUT, "draining": draining, "owns": owns}
        for node, ago, draining, owns in conn.execute(_NODES).fetchall()
    ]


def set_draining(conn: psycopg.Connection, node: str, draining: bool) -> bool:
    """Mark the node drained (it keeps running, given no partition) or not; False if no such node."""
    return conn.execute("UPDATE nodes SET draining = %s WHERE node = %s", (draining, node)).rowcount == 1


def moving(conn: psycopg.Connection, node: str) -> int:
    """How many partitions the node still owns under a running lease, or nobody owns (handed
    over, not taken yet): a drain is over at 0."""
    row = conn.execute(
        "SELECT count(*) FROM partitions"
        " WHERE branch <> 'relay' AND (owner_host = %s OR endpoint IS NULL OR NOT lease_until > now())",
        (node,),
    ).fetchone()
    return row[0] if row else 0
