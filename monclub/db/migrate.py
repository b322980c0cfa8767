"""Versioned SQL migrations, applied in order under an advisory lock (safe to run concurrently)."""

from importlib import resources

import psycopg

from monclub.db import scalar
from monclub.errors import ConfigError

_MIGRATION_LOCK = 0x4D43_0001
_SHARDS_VARIABLES = {"reunions": "MONCLUB_SHARDS", "prets": "MONCLUB_PRET_SHARDS"}


def migrations() -> list[tuple[int, str, str]]:
    files = resources.files("monclub.db") / "migrations"
    found = []
    for entry in files.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.name, entry.read_text()))
    return sorted(found)


def migrate(conn: psycopg.Connection) -> list[str]:
    """Apply the missing migrations; returns the names applied."""
    applied = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations"
            " (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        for version, name, sql in migrations():
            if version not in done:
                conn.execute(sql)
                conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name))
                applied.append(name)
    return applied


def check_shards(conn: psycopg.Connection, branch: str, shards: int) -> None:
    """Record the shard count on first use; refuse a different one later (no resharding yet)."""
    key = f"{branch}_shards"
    with conn.transaction():
        conn.execute("INSERT INTO meta (key, value) VALUES (%s, %s) ON CONFLICT DO NOTHING", (key, str(shards)))
        stored = int(scalar(conn, "SELECT value FROM meta WHERE key = %s", (key,)))
    if stored != shards:
        raise ConfigError(
            f"the database was created with {stored} {branch} shards, the configuration asks for {shards}: "
            f"set shards = {stored} in the [{branch}] section of the config "
            f"(or {_SHARDS_VARIABLES[branch]}={stored}); "
            "resharding does not exist yet"
        )
