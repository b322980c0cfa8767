"""The database's last line, tried with plain SQL (issue 12, items 15 to 18): what the programs'
role may do, and the rules that hold against direct writes, as that role and as the owner.

Every statement here has a hard deadline: the connections carry statement_timeout and lock_timeout.
"""

import uuid

import psycopg
import pytest
from psycopg import sql as q
from psycopg.conninfo import make_conninfo

from monclub.db import connect
from monclub.db.migrate import migrate, migrations
from monclub.drills import audit
from monclub.errors import ConfigError
from tests.fixtures.postgres import add_membres, as_owner

DEADLINE = "SET statement_timeout = '10s'; SET lock_timeout = '10s'"


@pytest.fixture
def app(sql):
    """The programs' role, as the shards, relay, listeners and CLI connect."""
    sql.execute(DEADLINE)
    return sql


@pytest.fixture
def owner(owner_sql):
    owner_sql.execute(DEADLINE)
    return owner_sql


def refused(conn: psycopg.Connection, statement: str, params=None, error=psycopg.errors.InsufficientPrivilege):
    """Run `statement` in a transaction of its own, which must fail with `error` (at COMMIT for a
    deferred rule); returns the message."""
    with pytest.raises(error) as caught:
        with conn.transaction():
            conn.execute(statement, params)
    return str(caught.value)


def seance(conn, places: int = 1, seance_id: str = "polar") -> str:
    conn.execute(
        "INSERT INTO seances (id, titre, places, attente_max, tarif) VALUES (%s, 'Polar', %s, 0, 0)",
        (seance_id, places),
    )
    return seance_id


def inscrire(conn, seance_id: str, membre: int) -> None:
    conn.execute(
        "INSERT INTO inscriptions (seance_id, membre_id, statut) VALUES (%s, %s, 'inscrit')", (seance_id, membre)
    )


# --- 15. least privilege ------------------------------------------------------------------------


def test_15_the_programs_role_is_no_superuser_and_owns_no_table(app):
    superuser, owned = app.execute(
        "SELECT rolsuper, (SELECT count(*) FROM pg_class"
        "                  WHERE relowner = r.oid AND relnamespace = 'public'::regnamespace)"
        " FROM pg_roles r WHERE rolname = current_user"
    ).fetchone()
    assert (superuser, owned) == (False, 0)


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE seances DISABLE TRIGGER USER",
        "DROP TABLE relances",
        "CREATE TABLE public.intrus (x int)",
        "TRUNCATE inscriptions",
        "UPDATE events SET payload = '{}'",
        "DELETE FROM paiements",
        "DELETE FROM prets",
        "UPDATE inscriptions SET seance_id = 'ailleurs'",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename <> current_user",
    ],
)
def test_15_the_programs_role_may_not_do_what_no_program_does(app, statement):
    refused(app, statement)


def test_15_an_embedded_cluster_of_the_previous_version_gets_its_programs_role_at_migration(owner, database):
    """Before: one superuser role owning everything, migrations up to 004. The next migration, as
    that owner, creates the programs' role and grants it exactly what the programs use."""
    name, role = f"u_{uuid.uuid4().hex[:10]}", f"app_{uuid.uuid4().hex[:10]}"
    owner.execute(q.SQL("CREATE DATABASE {} TEMPLATE template0").format(q.Identifier(name)))
    url = make_conninfo(as_owner(database), dbname=name)
    try:
        with connect(url, autocommit=True) as old:
            with old.transaction():
                old.execute("CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL)")
                for version, filename, text in migrations()[:4]:
                    old.execute(text)
                    old.execute("INSERT INTO schema_migrations VALUES (%s, %s)", (version, filename))
            assert migrate(old, role) == [filename for _, filename, _ in migrations()[4:]]
        with connect(make_conninfo(url, user=role), autocommit=True) as upgraded:
            (membre,) = add_membres(upgraded, 1)
            inscrire(upgraded, seance(upgraded), membre)
            refused(upgraded, "UPDATE seances SET inscrits = 0")
    finally:
        owner.execute(q.SQL("DROP DATABASE {} WITH (FORCE)").format(q.Identifier(name)))
        owner.execute(q.SQL("DROP ROLE IF EXISTS {}").format(q.Identifier(role)))


def test_15_migrations_run_as_the_programs_role_say_which_setting_to_set(app):
    with pytest.raises(ConfigError) as refused_migration:
        migrate(app, "monclub_app")
    assert "owner_database_url" in str(refused_migration.value) and "permission denied" in str(refused_migration.value)


# --- 16. no switching the triggers off ---------------------------------------------------------


def test_16_the_programs_role_may_not_switch_the_triggers_off(app):
    refused(app, "SET session_replication_role = replica")
    (a, b) = add_membres(app, 2)
    inscrire(app, seance(app, places=1), a)
    refused(
        app,
        "INSERT INTO inscriptions (seance_id, membre_id, statut) VALUES ('polar', %s, 'inscrit')",
        (b,),
        error=psycopg.errors.CheckViolation,
    )


# --- 17. the capacity rule against direct writes of the counters ---------------------------------


def test_17_the_programs_role_may_not_write_the_counters(app):
    a, b = add_membres(app, 2)
    inscrire(app, seance(app, places=1), a)
    refused(app, "UPDATE seances SET inscrits = 0 WHERE id = 'polar'")
    refused(app, "UPDATE seances SET en_attente = 0, inscrits = 0")
    refused(
        app,
        "INSERT INTO inscriptions (seance_id, membre_id, statut) VALUES ('polar', %s, 'inscrit')",
        (b,),
        error=psycopg.errors.CheckViolation,
    )
    assert app.execute("SELECT count(*) FROM inscriptions WHERE seance_id = 'polar'").fetchone() == (1,)


def test_17_the_owner_may_not_write_the_counters_either(owner, app):
    a, b = add_membres(app, 2)
    inscrire(app, seance(app, places=1), a)
    message = refused(owner, "UPDATE seances SET inscrits = 0 WHERE id = 'polar'", error=psycopg.errors.CheckViolation)
    assert "write inscriptions, not the counters" in message
    refused(
        owner,
        "INSERT INTO seances (id, titre, places, attente_max, tarif, inscrits) VALUES ('x', 'X', 5, 0, 0, 3)",
        error=psycopg.errors.CheckViolation,
    )
    refused(
        owner,
        "INSERT INTO inscriptions (seance_id, membre_id, statut) VALUES ('polar', %s, 'inscrit')",
        (b,),
        error=psycopg.errors.CheckViolation,
    )


def test_17_the_counters_still_follow_every_statement_on_the_rows(app):
    """What the counter triggers write is allowed: set-based inserts, a promotion, a deletion, places."""
    membres = add_membres(app, 5)
    seance(app, places=3)
    app.execute(
        "INSERT INTO inscriptions (seance_id, membre_id, statut) SELECT 'polar', unnest(%s::bigint[]), 'inscrit'",
        (membres[:3],),
    )
    app.execute("DELETE FROM inscriptions WHERE membre_id = %s", (membres[0],))
    app.execute("UPDATE seances SET places = 2 WHERE id = 'polar'")
    assert app.execute("SELECT inscrits, en_attente FROM seances WHERE id = 'polar'").fetchone() == (2, 0)


# --- 18. the borrower column is the open loan's -------------------------------------------------


@pytest.fixture
def livre(app):
    app.execute("INSERT INTO livres (id, titre, shard) VALUES ('dune', 'Dune', 0)")
    return "dune"


def preter(conn, livre: str, membre: int) -> None:
    """As a loan shard writes it: the livre row, then the loan, in one transaction."""
    with conn.transaction():
        conn.execute(
            "UPDATE livres SET emprunteur = %s, echeance = now() + interval '14 days' WHERE id = %s", (membre, livre)
        )
        conn.execute(
            "INSERT INTO prets (livre_id, membre_id, echeance) VALUES (%s, %s, now() + interval '14 days')",
            (livre, membre),
        )


def test_18_a_borrower_without_an_open_loan_is_refused(app, livre):
    (a,) = add_membres(app, 1)
    message = refused(
        app, "UPDATE livres SET emprunteur = %s WHERE id = 'dune'", (a,), error=psycopg.errors.CheckViolation
    )
    assert "open loan" in message
    assert app.execute("SELECT emprunteur FROM livres WHERE id = 'dune'").fetchone() == (None,)


def test_18_the_borrower_cannot_disagree_with_the_open_loan(app, owner, livre):
    a, b = add_membres(app, 2)
    preter(app, livre, a)
    for conn in (app, owner):
        refused(conn, "UPDATE livres SET emprunteur = %s WHERE id = 'dune'", (b,), error=psycopg.errors.CheckViolation)
        refused(conn, "UPDATE livres SET emprunteur = NULL WHERE id = 'dune'", error=psycopg.errors.CheckViolation)
        refused(conn, "UPDATE prets SET rendu_le = now() WHERE livre_id = 'dune'", error=psycopg.errors.CheckViolation)
        refused(
            conn, "UPDATE prets SET membre_id = %s WHERE livre_id = 'dune'", (b,), error=psycopg.errors.CheckViolation
        )
    with app.transaction():  # a return, as the shard writes it
        app.execute("UPDATE livres SET emprunteur = NULL WHERE id = 'dune'")
        app.execute("UPDATE prets SET rendu_le = now() WHERE livre_id = 'dune' AND rendu_le IS NULL")
    refused(
        app,
        "INSERT INTO prets (livre_id, membre_id, echeance) VALUES ('dune', %s, now())",
        (b,),
        error=psycopg.errors.CheckViolation,
    )
    preter(app, livre, b)
    assert app.execute("SELECT emprunteur FROM livres WHERE id = 'dune'").fetchone() == (b,)


# --- verify names an overbooking from the rows ---------------------------------------------------


def test_verify_names_an_overbooked_seance_over_capacity_from_the_rows(app, owner):
    a, b = add_membres(app, 2)
    inscrire(app, seance(app, places=1), a)
    with owner.transaction():  # only a superuser switching the triggers off can still overbook
        owner.execute("SET LOCAL session_replication_role = replica")
        inscrire(owner, "polar", b)
    found = audit.violations(app)
    assert [v for v in found if v.startswith("seance over capacity")] == [
        "seance over capacity (registered, places, waiting, waiting list size): polar, 2, 1, 0, 0"
    ]
