"""What `monclub status --cluster` adds: every node sharing the database (heartbeat age, live,
draining or dead), every partition's owner (node, process, pid, epoch, lease left), the
partitions moving now (no owner under a running lease), the moves of the last minute (each
acquisition of a partition or of the relay's lease, from the `epochs` table), which node's relay
publishes the events and where each listener runs."""

import psycopg

from monclub import registry
from monclub.cluster import directory
from monclub.cluster import nodes as nodes_table
from monclub.config import Config
from monclub.db import connect

MOVES_SECONDS = 60.0
_UNOWNED = """
SELECT branch, partition FROM partitions
WHERE branch <> 'relay' AND (endpoint IS NULL OR NOT lease_until > now()) ORDER BY branch, partition
"""
_LISTENERS = """
SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.classid = %s AND l.granted AND a.application_name LIKE 'monclub %% on %%'
ORDER BY 1
"""
_MOVES = """
SELECT branch, partition, epoch, owner, extract(epoch FROM now() - acquired_at)::float8 FROM epochs
WHERE acquired_at > now() - make_interval(secs => %s) ORDER BY acquired_at DESC LIMIT 100
"""


def view(config: Config) -> dict:
    """The cluster as PostgreSQL records it; {"error": ...} when the database cannot be read."""
    try:
        with connect(config.conninfo(), autocommit=True, connect_timeout=2) as conn:
            return {
                "nodes": nodes_table.nodes(conn),
                "partitions": {branch: directory.owners(conn, branch) for branch in registry.BRANCH_NAMES},
                "relay": next(iter(directory.owners(conn, "relay")), None),
                "moving": [f"{branch}/{partition}" for branch, partition in conn.execute(_UNOWNED).fetchall()],
                "listeners": _listeners(conn),
                "moves": [
                    dict(zip(("branch", "partition", "epoch", "owner", "seconds_ago"), row, strict=True))
                    for row in conn.execute(_MOVES, (MOVES_SECONDS,)).fetchall()
                ],
            }
    except psycopg.Error as error:
        return {"error": f"database unreachable: {str(error).strip().splitlines()[0]}"}


def _listeners(conn: psycopg.Connection) -> dict[str, str]:
    """Where each listener runs: the node its session (holding the listener's lock) names."""
    found = {}
    for (name,) in conn.execute(_LISTENERS, (registry.LISTENER_LOCK_CLASS,)).fetchall():
        listener, _, node = name.removeprefix("monclub ").partition(" on ")
        found[listener] = node
    return found


def node_state(node: dict) -> str:
    """`live`, `draining`, or `dead` (no heartbeat within the membership's timeout)."""
    return "draining" if node["draining"] else "live" if node["live"] else "dead"


def listeners_line(found: dict) -> str:
    listeners = ", ".join(f"{name} on {node}" for name, node in found["listeners"].items())
    return f"listeners: {listeners or 'none running'}"


def moving_line(found: dict) -> str:
    return f"moving now (no owner under a running lease): {', '.join(found['moving']) or 'none'}"


def render(found: dict) -> str:
    if "error" in found:
        return f"cluster: {found['error']}"
    lines = [f"cluster: {len(found['nodes'])} nodes"]
    for node in found["nodes"]:
        seen = f"heartbeat {node['seen_ago']:.1f}s ago"
        lines.append(f"  {node['node']:<16} {node_state(node):<9} {seen}  owns {node['owns']}")
    for branch, owners in found["partitions"].items():
        lines.append(f"{branch} partitions:")
        lines += [
            f"  {o['partition']:>3}  {o['node']}:{o['shard']} pid {o['pid']}  epoch {o['epoch']}"
            f"  lease {o['lease_left']:.1f}s" + ("  (expired)" if o["lease_left"] <= 0 else "")
            for o in owners
        ]
    relay = found["relay"]
    lines.append(
        f"relay: {relay['node']} pid {relay['pid']} epoch {relay['epoch']}, publishing at {relay['endpoint']}"
        if relay
        else "relay: none has run yet"
    )
    lines.append(listeners_line(found))
    moves = found["moves"]
    lines.append(moving_line(found))
    lines.append(f"moves in the last {MOVES_SECONDS:.0f}s: {len(moves)}")
    lines += [
        f"  {m['branch']}/{m['partition']} epoch {m['epoch']} to {m['owner']}, {m['seconds_ago']:.1f}s ago"
        for m in moves[:10]
    ]
    return "\n".join(lines)
