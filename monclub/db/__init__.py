"""PostgreSQL access: connections and the versioned schema."""

from typing import Any

import psycopg
from psycopg.abc import Params, QueryNoTemplate

from monclub.db.secrets import redact

# The client's side of a dead peer (a server, or the route to it, gone without a word): libpq's
# keepalives and a timeout for unacknowledged data, as the server's DEAD_PEER_SETTINGS. Ignored on
# unix sockets.
DEAD_SERVER = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3}
TCP_USER_TIMEOUT_MS = 6000


def connect(conninfo: str, **kwargs) -> psycopg.Connection:
    """A connection; its errors never carry the password of `conninfo` (nor chain one that does)."""
    options = {"connect_timeout": 5, **DEAD_SERVER, "tcp_user_timeout": TCP_USER_TIMEOUT_MS, **kwargs}
    try:
        return psycopg.connect(conninfo, **options)
    except psycopg.Error as error:
        raise type(error)(redact(str(error), conninfo)) from None


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
