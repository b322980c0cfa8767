"""PostgreSQL access: connections and the versioned schema."""

import psycopg

from monclub.db.secrets import redact


def connect(conninfo: str, **kwargs) -> psycopg.Connection:
    """A connection; its errors never carry the password of `conninfo` (nor chain one that does)."""
    try:
        return psycopg.connect(conninfo, connect_timeout=5, **kwargs)
    except psycopg.Error as error:
        raise type(error)(redact(str(error), conninfo)) from None
