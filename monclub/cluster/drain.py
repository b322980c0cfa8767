"""A planned move of every partition off a node (`monclub node drain`, and `monclub stop` on a
node of a cluster): mark the node draining, then wait until the other live nodes own all the
partitions. The shard processes hand them over a few at a time (monclub.shards.host); a client
sees at most a redirect."""

import time

import psycopg

from monclub.cluster import nodes as nodes_table
from monclub.config import Config
from monclub.db import connect
from monclub.errors import InvalidRequest, Timeout, Unavailable

TIMEOUT = 60.0
STOP_TIMEOUT = 20.0  # `monclub stop` waits no longer: the leases of what is left run out anyway


def takers(conn: psycopg.Connection, node: str) -> list[str]:
    """The live nodes, other than `node` and not draining, that would take its partitions."""
    return [n["node"] for n in nodes_table.nodes(conn) if n["live"] and not n["draining"] and n["node"] != node]


def drain(config: Config, node: str, timeout: float = TIMEOUT) -> list[str]:
    """Drain `node`; the nodes that took its partitions."""
    with connect(config.conninfo(), autocommit=True) as conn:
        return _drain(conn, node, timeout)


def _drain(conn: psycopg.Connection, node: str, timeout: float) -> list[str]:
    others = takers(conn, node)
    if not others:
        raise Unavailable(f"no other live node would take the partitions of {node}; start another node first")
    if not nodes_table.set_draining(conn, node, True):
        raise InvalidRequest(f"no node {node} on this database; see monclub node liste")
    deadline = time.monotonic() + timeout
    while (left := nodes_table.moving(conn, node)) and time.monotonic() < deadline:
        time.sleep(0.1)
    if left:
        raise Timeout(f"{left} partitions still moving after {timeout:.0f}s; see monclub node liste")
    return others


def before_stop(config: Config) -> list[str]:
    """On `monclub stop`: drain this node first when other live nodes would take its partitions
    (none on a single node: nothing to wait for); the nodes that took them."""
    try:
        conn = connect(config.conninfo(), autocommit=True, connect_timeout=2)
    except psycopg.Error:
        return []
    with conn:
        return _drain(conn, config.node, STOP_TIMEOUT) if takers(conn, config.node) else []
