"""Several database hosts in one URL, as libpq takes them (`host=a,b,c port=5432`, or
`postgresql://a:5432,b:5433/monclub`), and the server this process last found primary tried first.

Why: a highly available PostgreSQL (Patroni, docs/database.md) moves its primary from host to
host. psycopg tries the hosts in the order written, each for up to `connect_timeout` (libpq
takes no less than 2 s), and a shard opens one session per partition: after a failover, a dead
or frozen first host would cost every new session seconds. So every process remembers which
server its last session landed on and puts it first (`primary_first`); only its first session
after a failover pays for the dead host.

A URL with several hosts is for a primary and its standbys: MonClub writes through its sessions,
so such a URL gets `target_session_attrs=read-write` (libpq then skips a standby, or a server
made read-only) unless it says `primary`, the same check done with `pg_is_in_recovery()`; any
other value is refused when the configuration is loaded (`refusal`).

The functions of the pure core take the parsed parameters (psycopg.conninfo.conninfo_to_dict);
`remember` and `ordered` keep the one piece of per-process memory.
"""

import psycopg
from psycopg.abc import ConnDict, ConnMapping
from psycopg.conninfo import conninfo_to_dict, make_conninfo

Server = tuple[str, str]  # (host, port as written; "" when the URL gives none)
WRITABLE = ("read-write", "primary")
CONNECT_TIMEOUT = 2  # s per host when there are several: libpq's least (one is the usual default)


def servers(params: ConnMapping) -> list[Server]:
    """The servers a URL names, in its order, each (host or hostaddr, port)."""
    hosts = _split(params.get("host")) or _split(params.get("hostaddr"))
    ports = _split(params.get("port"))
    ports = ports * len(hosts) if len(ports) == 1 else ports
    return [(host, ports[i] if i < len(ports) else "") for i, host in enumerate(hosts)]


def several(params: ConnMapping) -> bool:
    return len(servers(params)) > 1


def refusal(params: ConnMapping) -> str | None:
    """Why these parameters cannot serve MonClub (None when they can): several hosts must let the
    session land on a primary only, and each list must pair with the hosts."""
    lists = {key: _split(params.get(key)) for key in ("host", "hostaddr", "port")}
    count = max(len(lists["host"]), len(lists["hostaddr"]))
    for key, values in lists.items():
        if len(values) > 1 and len(values) != count:
            return f"{len(values)} values of {key} for {count} hosts: give one each (or one port for all)"
    attrs = params.get("target_session_attrs")
    if count > 1 and attrs not in (None, *WRITABLE):
        return (
            f"target_session_attrs={attrs} with several hosts: MonClub writes through its sessions, "
            "so they must land on the primary; use target_session_attrs=read-write (the default) or primary"
        )
    return None


def defaults(params: ConnMapping) -> ConnDict:
    """What a session to several hosts needs unless the URL says otherwise: land on a primary,
    and give up on a silent host after libpq's least timeout, not the single-host 5 s."""
    if not several(params):
        return {}
    return {"target_session_attrs": "read-write", "connect_timeout": CONNECT_TIMEOUT}


def primary_first(params: ConnMapping, primary: Server | None) -> ConnDict:
    """The same parameters with `primary` moved to the front of the hosts (its hostaddr and port
    with it); unchanged when it is not one of them. Hosts after it keep their order."""
    named = servers(params)
    if primary is None or len(named) < 2:
        return dict(params)
    found = [i for i, server in enumerate(named) if _same(server, primary)]
    if not found or found[0] == 0:
        return dict(params)
    return _in_order(params, len(named), [found[0], *(i for i in range(len(named)) if i != found[0])])


def silent_last(params: ConnMapping, silent: Server | None) -> ConnDict:
    """The same parameters with `silent` (a server that stopped answering) moved to the end of the
    hosts, so that a new session tries it only once the others refused."""
    named = servers(params)
    found = [i for i, server in enumerate(named) if silent is not None and _same(server, silent)]
    if len(named) < 2 or not found or found[0] == len(named) - 1:
        return dict(params)
    return _in_order(params, len(named), [*(i for i in range(len(named)) if i != found[0]), found[0]])


def _in_order(params: ConnMapping, count: int, order: list[int]) -> ConnDict:
    """The parameters with the hosts (their hostaddr and port with them) in `order`."""
    moved = dict(params)
    for key in ("host", "hostaddr", "port"):
        values = _split(params.get(key))
        if len(values) == count:
            moved[key] = ",".join(values[i] for i in order)
    return moved


def alone(params: ConnMapping, index: int) -> ConnDict:
    """The same parameters naming only the `index`-th server (its host or hostaddr and port), any
    session accepted on it: to ask each server what it is (monclub.db.servers)."""
    single = {**params, "target_session_attrs": "any"}
    for key in ("host", "hostaddr", "port"):
        values = _split(params.get(key))
        if len(values) > 1:
            single[key] = values[index]
    return single


def _same(server: Server, primary: Server) -> bool:
    """A URL's server is the one a session landed on: the same host, and the same port unless the
    URL gives none (libpq's default then, as the session's)."""
    return server[0] == primary[0] and server[1] in ("", primary[1])


def _split(value: object) -> list[str]:
    return str(value).split(",") if value else []


# -- the process's memory ----------------------------------------------------------------------

_last_primary: Server | None = None
_silent: Server | None = None  # the last server a session of this process found silent or lost


def ordered(conninfo: str) -> str:
    """`conninfo` with the server this process last landed on first, and the one it last found
    silent last (each new session would otherwise pay a connect timeout on it); `conninfo` itself
    when that changes nothing: a URL of one host, the embedded cluster's included, reaches libpq
    untouched."""
    params = conninfo_to_dict(conninfo)
    moved = silent_last(primary_first(params, _last_primary), _silent)
    return conninfo if moved == params else make_conninfo("", **moved)


def remember(conn: psycopg.Connection) -> None:
    """The server `conn` landed on is the primary to try first from now on (a session to several
    hosts lands on a primary only: `defaults`), and no longer silent."""
    global _last_primary, _silent
    _last_primary = (conn.info.host, str(conn.info.port))
    if _silent == _last_primary:
        _silent = None


def silent(server: Server) -> None:
    """A session of this process found `server` silent or lost (monclub.db.bounded)."""
    global _silent
    _silent = server
