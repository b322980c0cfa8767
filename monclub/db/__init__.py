"""PostgreSQL access: connections and the versioned schema."""

import psycopg


def connect(conninfo: str, **kwargs) -> psycopg.Connection:
    return psycopg.connect(conninfo, connect_timeout=5, **kwargs)
