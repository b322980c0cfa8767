"""`monclub node`: the nodes sharing this database, and planned moves (drain a node, let it join)."""

import click

from monclub.cli.common import emit, fail, handled, json_option, load_config, on_database, on_writer
from monclub.cluster import drain as drain_module
from monclub.cluster import nodes as nodes_table


@click.group()
def node():
    """The nodes sharing this database: liste, drain, join."""


def _state(found: dict) -> str:
    return "draining" if found["draining"] else "live" if found["live"] else "dead"


@node.command()
@json_option
@handled
def liste(as_json: bool):
    """Each node: its heartbeat's age, live, draining or dead, and the partitions it owns."""
    found = on_database(nodes_table.nodes)
    lines = [
        f"{n['node']:<20} {_state(n):<9} seen {n['seen_ago']:.1f}s ago  owns {n['owns']} partitions" for n in found
    ]
    emit(as_json, found, "\n".join(lines) or "no node has started on this database yet")


@node.command()
@click.option("--node", "name", help="The node to drain (default: this one, [cluster] node).")
@click.option("--timeout", default=drain_module.TIMEOUT, show_default=True, help="Seconds to wait for the hand-over.")
@json_option
@handled
def drain(name: str | None, timeout: float, as_json: bool):
    """Hand every partition of a node over to the other live nodes, a few at a time, and wait
    until they own them all. The node keeps running, owning nothing, until `monclub node join` or
    its next start."""
    name = name or load_config().node
    others = drain_module.drain(load_config(), name, timeout)
    emit(
        as_json,
        {"ok": True, "node": name, "to": others},
        f"{name} drained: its partitions moved to {', '.join(others)}",
    )


@node.command()
@click.option("--node", "name", help="The node (default: this one, [cluster] node).")
@json_option
@handled
def join(name: str | None, as_json: bool):
    """Let a drained node take its share of the partitions again."""
    name = name or load_config().node
    if not on_writer(nodes_table.set_draining, name, False):
        fail(f"no node {name} on this database; see monclub node liste", 1, as_json, "invalid_request")
    emit(as_json, {"ok": True, "node": name}, f"{name} joins: it takes its share of the partitions")


COMMANDS = [node]
