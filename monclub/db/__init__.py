"""PostgreSQL access: connections and the versioned schema."""

import select
import threading
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import pq
from psycopg.abc import Params, QueryNoTemplate
from psycopg.conninfo import conninfo_to_dict

from monclub.db import bounded, hosts, syncrep
from monclub.db.bounded import ANSWER_TIMEOUT, Connection
from monclub.db.secrets import redact

# The client's side of a dead peer (a server, or the route to it, gone without a word): libpq's
# keepalives and a timeout for unacknowledged data, as the server's DEAD_PEER_SETTINGS. Ignored on
# unix sockets.
DEAD_SERVER = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3}
TCP_USER_TIMEOUT_MS = 6000


# The errors after which a session is dropped and opened again: the connection lost (a server
# shutting down, 57P01 to 57P03, is one), or a server that no longer takes writes (25006: demoted,
# or made read-only) while the session was on it, or a commit the synchronous standby may not have
# (syncrep.NotReplicated, an OperationalError). A new session lands on whichever is primary.
SESSION_LOST = (psycopg.OperationalError, psycopg.errors.ReadOnlySqlTransaction)


def options(conninfo: str) -> dict[str, Any]:
    """The options of every MonClub session to `conninfo` (the URL's own settings win): a dead
    peer noticed in seconds, and with several hosts a primary only (monclub.db.hosts)."""
    params = conninfo_to_dict(conninfo)
    chosen = {"connect_timeout": 5, **DEAD_SERVER, "tcp_user_timeout": TCP_USER_TIMEOUT_MS, **hosts.defaults(params)}
    return {key: value for key, value in chosen.items() if key not in params}


def connect(conninfo: str, answer_timeout: float | None = ANSWER_TIMEOUT, **kwargs) -> psycopg.Connection:
    """A connection, to the primary when `conninfo` names several hosts (the one this process last
    landed on tried first), whose server's warnings are heard (monclub.db.syncrep), each round trip
    bounded by `answer_timeout` (monclub.db.bounded; None: unbounded, for migrations); its errors never carry the
    password of `conninfo` (nor chain one that does). One opened ahead with the same arguments
    (`open_ahead`) is taken first, while the server has not ended it."""
    kept = _take_ahead(_ahead_key(conninfo, answer_timeout, kwargs))
    if kept is not None:
        return kept
    try:
        conn = bounded.opened(
            Connection.connect(hosts.ordered(conninfo), **{**options(conninfo), **kwargs}), answer_timeout
        )
    except psycopg.Error as error:
        # One line (psycopg lists a failure per host on lines of their own): logs keep it whole.
        raise type(error)("; ".join(redact(str(error), conninfo).strip().splitlines())) from None
    landed(conninfo, conn)
    syncrep.watch(conn)
    return conn


# Sessions opened ahead of need (`open_ahead`), by connect()'s arguments; taken on several threads.
_ahead: dict[tuple, list[psycopg.Connection]] = {}
_ahead_lock = threading.Lock()
_taken_ahead = 0  # how many connect() took, for a shard's `ping`


def open_ahead(
    conninfo: str,
    count: int,
    warm: Callable[[psycopg.Connection], None],
    answer_timeout: float | None = ANSWER_TIMEOUT,
    **kwargs,
) -> int:
    """Open `count` sessions now, each prepared by `warm`, for this process's next calls of
    connect() with the same arguments: a spare process (monclub.supervision.spare) connects while
    it waits, so that the process it becomes takes its partitions on sessions already open instead
    of each paying a new backend's start (most of a restart's time: README, "Where the recovery's
    time goes"). The number opened: after a failure (the server down, a table missing) the rest
    are left to connect() itself."""
    opened = []
    try:
        for _ in range(count):
            opened.append(connect(conninfo, answer_timeout, **kwargs))
            warm(opened[-1])
    except psycopg.Error:
        pass
    with _ahead_lock:
        _ahead.setdefault(_ahead_key(conninfo, answer_timeout, kwargs), []).extend(opened)
    return len(opened)


def _ahead_key(conninfo: str, answer_timeout: float | None, kwargs: dict) -> tuple:
    return conninfo, answer_timeout, tuple(sorted(kwargs.items()))


def close_ahead() -> None:
    """Close the sessions opened ahead that nobody took (a shard hosting fewer partitions than the
    busiest, once its first tick took its own)."""
    with _ahead_lock:
        left = [conn for kept in _ahead.values() for conn in kept]
        _ahead.clear()
    for conn in left:
        conn.close()


def _take_ahead(key: tuple) -> psycopg.Connection | None:
    """A session opened ahead with these arguments and still open; those the server ended closed."""
    while True:
        with _ahead_lock:
            kept = _ahead.get(key)
            if not kept:
                return None
            conn = kept.pop()
        if not conn.closed and not conn.broken and not ended(conn):
            global _taken_ahead
            with _ahead_lock:
                _taken_ahead += 1
            return conn
        conn.close()


def taken_ahead() -> int:
    """How many sessions opened ahead connect() has taken in this process."""
    return _taken_ahead


def ended(conn: psycopg.Connection) -> bool:
    """Whether the server has ended this idle session (a shutdown, a crash restart, a terminated
    backend): its goodbye, then the end of the stream, wait on the socket. A poll of the socket, no
    round trip."""
    for _ in range(2):
        if not select.select([conn.fileno()], [], [], 0)[0]:
            return False
        try:
            conn.pgconn.consume_input()
        except psycopg.OperationalError:
            return True
    return conn.pgconn.status != pq.ConnStatus.OK


def landed(conninfo: str, conn: psycopg.Connection) -> None:
    """Remember where a new session to the hosts of `conninfo` landed, when it names several:
    the primary, tried first next time."""
    if hosts.several(conninfo_to_dict(conninfo)):
        hosts.remember(conn)


def read_only(conn: psycopg.Connection) -> None:
    """Every later transaction of `conn` read-only: a session that must never write (the web
    program's pool, the CLI's reads); a write on it fails with ReadOnlySqlTransaction."""
    conn.execute("SET default_transaction_read_only = on")


def scalar(conn: psycopg.Connection, query: QueryNoTemplate, params: Params | None = None) -> Any:
    """The first column of the row `query` returns (a count, a sequence number, a setting);
    LookupError when it returns no row."""
    row = conn.execute(query, params).fetchone()
    if row is None:
        raise LookupError(f"no row for {query!r}")
    return row[0]
