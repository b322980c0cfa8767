"""The membres table, which no shard owns: written directly by `monclub membre creer` and the drills."""

import psycopg


def creer_membre(conn: psycopg.Connection, nom: str, email: str | None = None) -> int:
    """The new membre's id."""
    return conn.execute("INSERT INTO membres (nom, email) VALUES (%s, %s) RETURNING id", (nom, email)).fetchone()[0]


def creer_membres(conn: psycopg.Connection, prefix: str, count: int) -> list[int]:
    """`count` membres named `prefix-1` to `prefix-count`, in one statement; their ids."""
    return [row[0] for row in conn.execute(
        "INSERT INTO membres (nom) SELECT %s || '-' || n FROM generate_series(1, %s) n RETURNING id",
        (prefix, count),
    ).fetchall()]
