"""Versioned SQL migrations, applied in order under an advisory lock (safe to run concurrently),
as the role that owns the schema; then the application's role is granted what the programs use.

Two kinds, each with its own record of what was applied. MonClub's own (`monclub/db/migrations`,
the shared tables and those of the first two branches, which grew with them) are recorded in
`schema_migrations` by version, as they always were. A branch added since carries its own in its
folder (`<package>/migrations/NNN_*.sql`, and `<package>/privileges.sql` for what the programs may
do on its tables), recorded in `branch_migrations` by (branch, version): its numbering is its own,
and a database that never had the branch gets its tables on the first start that registers it.
"""

import logging
import re
from importlib import resources

import psycopg
from psycopg import sql

from monclub import registry
from monclub.db import scalar
from monclub.errors import ConfigError

log = logging.getLogger("monclub.migrate")

_MIGRATION_LOCK = 0x4D43_0001
_MIGRATION = re.compile(r"(\d+)_\w+\.sql")


def migrations(package: str = "monclub.db") -> list[tuple[int, str, str]]:
    """The migrations of a package's `migrations` folder, in order: (version, file name, SQL)."""
    folder = resources.files(package) / "migrations"
    if not folder.is_dir():
        return []
    found = []
    for entry in folder.iterdir():
        if match := _MIGRATION.fullmatch(entry.name):
            found.append((int(match[1]), entry.name, entry.read_text()))
    return sorted(found)


def migrate(conn: psycopg.Connection, app_role: str | None = None) -> list[str]:
    """Apply the missing migrations, then grant `app_role` (when given) what the programs use;
    returns the names applied."""
    try:
        with conn.transaction():
            applied = _apply(conn)
            if app_role:
                _grant(conn, app_role)
    except psycopg.errors.InsufficientPrivilege as error:
        raise ConfigError(
            f"the role {scalar(conn, 'SELECT current_user')} may not migrate the database "
            f"({str(error).strip().splitlines()[0]}): connect the migrations as the role that owns it, "
            "owner_database_url in the config (or MONCLUB_OWNER_DATABASE_URL)"
        ) from None
    return applied


def _apply(conn: psycopg.Connection) -> list[str]:
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations"
        " (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    conn.execute(
        "CREATE TABLE IF NOT EXISTS branch_migrations (branch text, version integer, name text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (branch, version))"
    )
    done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
    applied = []
    for version, name, text in migrations():
        if version not in done:
            conn.execute(text)
            conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name))
            applied.append(name)
    for branch in registry.BRANCHES:
        applied += _apply_branch(conn, branch)
    return applied


def _apply_branch(conn: psycopg.Connection, branch: registry.Branch) -> list[str]:
    """A branch's own migrations, after MonClub's (its tables may reference theirs)."""
    done = {row[0] for row in conn.execute("SELECT version FROM branch_migrations WHERE branch = %s", (branch.name,))}
    applied = []
    for version, name, text in migrations(branch.where):
        if version not in done:
            conn.execute(text)
            conn.execute(
                "INSERT INTO branch_migrations (branch, version, name) VALUES (%s, %s, %s)",
                (branch.name, version, name),
            )
            applied.append(f"{branch.name}/{name}")
    return applied


def _grant(conn: psycopg.Connection, app_role: str) -> None:
    """Exactly the rights of privileges.sql, again at every start. The application's role of an
    embedded cluster initialised by an earlier version does not exist yet: it is created here."""
    owner = scalar(conn, "SELECT current_user")
    superuser = scalar(conn, "SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = %s)", (app_role,))
    if app_role == owner:
        log.warning(
            "the programs connect as %s, the owner of the schema: give them a role of their own in "
            "database_url and set owner_database_url to this one (README, Access and keys)",
            owner,
        )
        return
    if superuser is None:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(app_role)))
    elif superuser:
        log.warning("the programs' role %s is a superuser: it may switch the database's rules off", app_role)
    for package in ("monclub.db", *(branch.where for branch in registry.BRANCHES)):
        grants = resources.files(package) / "privileges.sql"
        if grants.is_file():
            conn.execute(sql.SQL(grants.read_text()).format(app=sql.Identifier(app_role)))


def check_partitions(conn: psycopg.Connection, branch: str, partitions: int) -> None:
    """Record the branch's partition count on first use; refuse a different one later: the
    partition of every aggregate depends on it (no repartitioning yet)."""
    key = f"{branch}_partitions"
    with conn.transaction():
        conn.execute("INSERT INTO meta (key, value) VALUES (%s, %s) ON CONFLICT DO NOTHING", (key, str(partitions)))
        stored = int(scalar(conn, "SELECT value FROM meta WHERE key = %s", (key,)))
    if stored != partitions:
        raise ConfigError(
            f"the database was created with {stored} {branch} partitions, the configuration asks for {partitions}: "
            f"set partitions = {stored} in the [{branch}] section of the config "
            f"(or {registry.branch(branch).env_prefix}PARTITIONS={stored}); "
            "repartitioning does not exist yet"
        )
