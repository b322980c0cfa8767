"""The tree page's words, from a state of TreeWatch (monclub.web.live): pure functions of the
state and the club's time zone, for its template (`tree_live.html`), rendered whole with the page
and again for each state its stream sends."""

from datetime import datetime, tzinfo

from monclub.cluster import view
from monclub.web.recovery import nodes

LATE_SECONDS = 2


def clock(epoch: float, zone: tzinfo | None) -> str:
    """An instant to the millisecond, in the club's time zone: `19:02:11.042`."""
    moment = datetime.fromtimestamp(epoch, zone)
    return f"{moment:%H:%M:%S}.{moment.microsecond // 1000:03d}"


def rows(state: dict) -> list[dict]:
    """One row per place, a branch's shards under it (`depth` 1)."""
    return [{**node, "place": place, "depth": int("/" in place)} for place, node in nodes(state)]


def load(node: dict) -> str | None:
    """A shard's load (aggregates loaded, commands handled, batches), or a program's url."""
    if node.get("loaded") is None:
        return node.get("url")
    batches = f", {node['commits']} commits of {node['batch_mean']} on average" if node.get("commits") else ""
    return f"loaded {node['loaded']}, handled {node['handled']}{batches}"


def down_or_back(node: dict, zone: tzinfo | None) -> str | None:
    """What the page says of a place's last death: down since when, or back after how long."""
    if node.get("down"):
        seen = "" if node["down"]["exact"] else " (seen by a read)"
        return f"down since {clock(node['down']['since'], zone)}{seen}"
    if node.get("back_ms") is not None:
        return f"back in {node['back_ms']} ms"
    return None


def time_down(back: dict) -> str:
    return f"{back['down_ms']} ms" if back["exact"] else f"within {back['down_ms']} ms (seen by the reads)"


def ranges(numbers: list[int]) -> str:
    """0 1 2 3 5 7 8 -> `0-3 5 7-8`."""
    parts: list[list[int]] = []
    for n in sorted(numbers):
        if parts and n == parts[-1][1] + 1:
            parts[-1][1] = n
        else:
            parts.append([n, n])
    return " ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in parts)


def owned(cluster: dict, node: str) -> str:
    """The partitions `node` owns under a running lease, by branch: `reunions 0-7 9; prets 0-3`."""
    found = []
    for branch, owners in cluster["partitions"].items():
        mine = [o["partition"] for o in owners if o["node"] == node and o["lease_left"] > 0]
        if mine:
            found.append(f"{branch} {ranges(mine)}")
    return "; ".join(found) or "none"


def cluster_error(cluster: dict) -> str:
    late = cluster.get("read_ago") is not None and cluster["read_ago"] > LATE_SECONDS
    if cluster.get("error"):
        return f"PostgreSQL does not answer: {cluster['error']}" + (
            f" (last read {cluster['read_ago']} s ago)" if late else ""
        )
    return f"as read {cluster['read_ago']} s ago: PostgreSQL is slow to answer" if late else ""


def cluster_notes(cluster: dict) -> list[str]:
    relay = cluster["relay"]
    return [
        f"relay: {relay['node']} (pid {relay['pid']}, epoch {relay['epoch']})" if relay else "relay: none has run yet",
        view.listeners_line(cluster),
        view.moving_line(cluster),
        f"moves in the last minute: {len(cluster['moves'])}",
    ]


FILTERS = {
    "clock": clock,
    "tree_rows": rows,
    "load": load,
    "down_or_back": down_or_back,
    "time_down": time_down,
    "owned": owned,
    "node_state": view.node_state,
    "cluster_error": cluster_error,
    "cluster_notes": cluster_notes,
}
