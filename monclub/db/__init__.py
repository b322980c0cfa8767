"""PostgreSQL access: connections and the versioned schema."""

from typing import Any

import psycopg
from psycopg.abc import Params, QueryNoTemplate

from monclub.db.secrets import redact


def connect(conninfo: str, **kwargs) -> psycopg.Connection:
    """A connection; its errors never carry the password of `conninfo` (nor chain one that does)."""
    try:
        return psycopg.connect(conninfo, connect_timeout=5, **kwargs)
    except psycopg.Error as error:
        raise type(error)(redact(str(error), conninfo)) from None


def scalar(conn: psycopg.Connection, query: QueryNoTemplate, params: Params | None = None) -> Any:
    """The first column of the row `query` returns (a count, a sequence number, a setting);
    LookupError when it returns no row."""
    row = conn.execute(query, params).fetchone()
    if row is None:
        raise LookupError(f"no row for {query!r}")
    return row[0]
