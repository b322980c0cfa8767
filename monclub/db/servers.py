"""What each server of the database URL is, as PostgreSQL itself says it (docs/database.md): for
`monclub status`, the web's tree page and /metrics.

Why here and not only from Patroni's REST API: MonClub always knows its database URL, not always
where Patroni listens (patroni_urls is optional, and the embedded PostgreSQL has no Patroni), and
the question it cares about is the one its sessions ask (`pg_is_in_recovery()`, as libpq's
target_session_attrs). Each server is asked on a session of its own, all at once, so a silent
one costs the whole answer its timeout once, not once per server.

What an unprivileged role can read: its server's role, WAL position (the lag is the primary's
position less a standby's replayed one, both public functions) and timeline. Which standby is
synchronous comes from the primary's pg_stat_replication and each standby's pg_stat_wal_receiver,
whose details PostgreSQL shows only to a role with pg_read_all_stats: without it, `sync` is None
(Patroni's /cluster says it, when patroni_urls names it: monclub.tree.database).
"""

from concurrent.futures import ThreadPoolExecutor

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from monclub.db import connect, hosts

PRIMARY, STANDBY, UNREACHABLE = "primary", "standby", "unreachable"
SYNCHRONOUS = ("sync", "quorum")  # pg_stat_replication.sync_state of a standby a commit waits for

_FACTS = """
SELECT pg_is_in_recovery(),
       CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END,
       CASE WHEN pg_is_in_recovery()
            THEN coalesce((SELECT received_tli FROM pg_stat_wal_receiver), (pg_control_checkpoint()).timeline_id)
            ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END,
       (SELECT conninfo FROM pg_stat_wal_receiver)
"""
_SENDERS = "SELECT application_name, sync_state FROM pg_stat_replication WHERE sync_state IS NOT NULL"


def read(conninfo: str, timeout: int = 2) -> list[dict]:
    """Every server of the URL in its order (one for a URL of one server): {server ("host:port"),
    role (primary, standby, unreachable), sync (a standby the primary's commits wait for; None
    when unknown), lag_bytes (a standby's replayed WAL behind the primary's), timeline}."""
    params = conninfo_to_dict(conninfo)
    named = hosts.servers(params) or [(str(params.get("host", "")), str(params.get("port", "")))]

    def facts(index: int) -> dict:
        try:
            with connect(make_conninfo("", **hosts.alone(params, index)), connect_timeout=timeout) as conn:
                ((standby, lsn, timeline, receiver),) = conn.execute(_FACTS).fetchall()
                senders = [] if standby else conn.execute(_SENDERS).fetchall()
        except psycopg.Error:
            return {"role": UNREACHABLE, "lsn": None, "timeline": None}
        said = conninfo_to_dict(receiver) if receiver else {}
        name = said.get("application_name") or said.get("fallback_application_name")
        role = STANDBY if standby else PRIMARY
        return {"role": role, "lsn": lsn, "timeline": timeline, "name": name, "senders": senders}

    with ThreadPoolExecutor(len(named)) as pool:
        found = list(pool.map(facts, range(len(named))))
    primary = next((entry for entry in found if entry["role"] == PRIMARY), None)
    return [
        {"server": _server(host, port), **_entry(entry, primary)}
        for (host, port), entry in zip(named, found, strict=True)
    ]


def _server(host: str, port: str) -> str:
    return f"{host}:{port}" if port else host


def _entry(facts: dict, primary: dict | None) -> dict:
    """One server's role, timeline, and, for a standby beside a primary that answered, its lag and
    whether it is synchronous (None when the standby's name or the primary's senders are hidden)."""
    entry = {"role": facts["role"], "sync": None, "lag_bytes": None, "timeline": facts["timeline"]}
    if facts["role"] != STANDBY or primary is None:
        return entry
    entry["lag_bytes"] = max(0, _position(primary["lsn"]) - _position(facts["lsn"])) if facts["lsn"] else None
    states = {name: state for name, state in primary["senders"] if name}
    if facts["name"] and states:
        entry["sync"] = states.get(facts["name"]) in SYNCHRONOUS
    return entry


def _position(lsn: str) -> int:
    """A WAL position ('16/B374D848') as a byte count."""
    high, low = lsn.split("/")
    return (int(high, 16) << 32) + int(low, 16)
