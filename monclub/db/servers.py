"""Which server of a URL naming several (a primary and its standbys, docs/database.md) takes
writes now, for `monclub status` and /metrics.

Why here and not from Patroni's REST API: MonClub knows its database URL, not where Patroni
listens, and the question it cares about is the one its sessions ask (`pg_is_in_recovery()`, as
libpq's target_session_attrs). Each server is asked on a session of its own, all at once, so a
silent one costs the whole answer its timeout once, not once per server.
"""

from concurrent.futures import ThreadPoolExecutor

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from monclub.db import connect, hosts, scalar

PRIMARY, STANDBY, UNREACHABLE = "primary", "standby", "unreachable"


def roles(conninfo: str, timeout: int = 2) -> list[dict]:
    """[{server: "host:port", role: primary | standby | unreachable}] in the URL's order; empty
    for a URL of one server (its sessions say whether it answers)."""
    params = conninfo_to_dict(conninfo)
    named = hosts.servers(params)
    if len(named) < 2:
        return []

    def role(index: int) -> str:
        try:
            with connect(make_conninfo("", **hosts.alone(params, index)), connect_timeout=timeout) as conn:
                return STANDBY if scalar(conn, "SELECT pg_is_in_recovery()") else PRIMARY
        except psycopg.Error:
            return UNREACHABLE

    with ThreadPoolExecutor(len(named)) as pool:
        found = list(pool.map(role, range(len(named))))
    return [{"server": f"{host}:{port}", "role": found[i]} for i, (host, port) in enumerate(named)]


def render(found: list[dict]) -> str:
    """One line: each server and its role."""
    return "database  " + "  ".join(f"{entry['server']} {entry['role']}" for entry in found)
