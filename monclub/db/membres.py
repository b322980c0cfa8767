"""The membres table, which no shard owns: written by the accueil (`creer_membre`, for the CLI and the web
program) and by the drills (`creer_membres`)."""

import psycopg

from monclub.db import scalar


def creer_membre(conn: psycopg.Connection, nom: str, email: str | None = None) -> int:
    """The new membre's id."""
    return scalar(conn, "INSERT INTO membres (nom, email) VALUES (%s, %s) RETURNING id", (nom, email))


def creer_membres(conn: psycopg.Connection, prefix: str, count: int) -> list[int]:
    """`count` membres named `prefix-1` to `prefix-count`, in one statement; their ids."""
    return [
        row[0]
        for row in conn.execute(
            "INSERT INTO membres (nom) SELECT %s || '-' || n FROM generate_series(1, %s) n RETURNING id",
            (prefix, count),
        ).fetchall()
    ]
