"""A branch's own migrations (tests/fixtures/casiers/migrations), recorded by (branch, version)
beside MonClub's: an existing database keeps its schema_migrations rows and gets only the new
branch's tables, once, with what its programs may do on them."""

import json
import os
import subprocess
import sys
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

from tests.fixtures.postgres import add_membres, as_owner

ROOT = Path(__file__).resolve().parents[2]
MIGRATE = (
    "import json, sys; from monclub.db import connect; from monclub.db.migrate import migrate\n"
    "with connect(sys.argv[1], autocommit=True) as conn: print(json.dumps(migrate(conn, sys.argv[2])))"
)


def migrate_with_casiers(database: str) -> list[str]:
    """What a start that registers the toy branch migrates (the registry is read once per process)."""
    env = {**os.environ, "MONCLUB_BRANCHES": "tests.fixtures.casiers.registration:BRANCH", "PYTHONPATH": str(ROOT)}
    role = conninfo_to_dict(database)["user"]
    done = subprocess.run(
        [sys.executable, "-c", MIGRATE, as_owner(database), role], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_migrated_database_gets_the_new_branch_tables_once_and_its_rows_stay(owner_sql, sql, database):
    before = owner_sql.execute("SELECT version, name, applied_at FROM schema_migrations ORDER BY 1").fetchall()
    assert before, "the database was migrated by MonClub's own migrations"
    assert migrate_with_casiers(database) == ["casiers/001_casiers.sql"]
    assert migrate_with_casiers(database) == []
    assert owner_sql.execute("SELECT version, name, applied_at FROM schema_migrations ORDER BY 1").fetchall() == before
    assert owner_sql.execute("SELECT branch, version, name FROM branch_migrations").fetchall() == [
        ("casiers", 1, "001_casiers.sql")
    ]
    (membre,) = add_membres(sql, 1)
    sql.execute("INSERT INTO casiers (id, membre_id) VALUES ('c1', %s)", (membre,))
    sql.execute("UPDATE casiers SET membre_id = NULL WHERE id = 'c1'")
