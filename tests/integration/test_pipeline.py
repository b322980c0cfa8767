"""One transaction in one round trip on libpq's pipeline (monclub.db.pipeline), on the real
database: all committed or none, the first error raised as psycopg raises it, the session usable
after a refusal and its statements prepared again when a failure skipped their Parse."""

import psycopg
import pytest
from psycopg import errors

from monclub.db import connect
from monclub.db.pipeline import Pipelined
from tests.fixtures.postgres import add_membres

SEANCE = "INSERT INTO seances (id, titre, places, attente_max, tarif) VALUES (%s, %s, %s, %s, %s)"
INSCRIPTION = "INSERT INTO inscriptions (seance_id, membre_id, statut) VALUES (%(seance)s, %(membre)s, 'inscrit')"
POLAR = (SEANCE, ("polar", "Polar", 3, 0, 800))
REQUEST = "INSERT INTO requests (id, shard, reply) VALUES (%s, 'test', decode(%s, 'hex'))"


def count(sql, table: str) -> int:
    return sql.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_the_statements_commit_together_with_their_parameters_in_text_form(sql, database):
    (membre,) = add_membres(sql, 1)
    with connect(database, autocommit=True) as conn:
        pipelined = Pipelined(conn)
        pipelined.commit(
            [
                (SEANCE, ("polar", "Soirée « Polar »", 3, 0, 800)),
                (INSCRIPTION, {"seance": "polar", "membre": membre}),
                (REQUEST, ("r1", "00ff")),
                ("UPDATE seances SET places = (SELECT sum(n) FROM unnest(%s::bigint[]) n)", ([membre, -membre, 7],)),
            ]
        )
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert sql.execute("SELECT titre, inscrits, places FROM seances").fetchall() == [("Soirée « Polar »", 1, 7)]
    assert sql.execute("SELECT reply FROM requests WHERE id = 'r1'").fetchone()[0] == b"\x00\xff"


def test_a_refused_statement_rolls_back_the_whole_transaction_and_leaves_the_session_usable(sql, database):
    (membre,) = add_membres(sql, 1)
    sql.execute(REQUEST, ("r1", "00"))
    with connect(database, autocommit=True) as conn:
        pipelined = Pipelined(conn)
        with pytest.raises(errors.UniqueViolation) as refused:
            pipelined.commit([POLAR, (REQUEST, ("r1", "01"))])
        assert refused.value.diag.constraint_name == "requests_pkey"
        assert count(sql, "seances") == 0
        pipelined.commit([POLAR, (INSCRIPTION, {"seance": "polar", "membre": membre})])
    assert count(sql, "inscriptions") == 1


def test_a_statement_whose_parse_the_failure_skipped_is_prepared_again(sql, database):
    (membre,) = add_membres(sql, 1)
    with connect(database, autocommit=True) as conn:
        pipelined = Pipelined(conn)
        with pytest.raises(errors.ForeignKeyViolation):
            pipelined.commit([(INSCRIPTION, {"seance": "absente", "membre": membre}), (SEANCE, ("x", "X", 1, 0, 0))])
        pipelined.commit([POLAR, (INSCRIPTION, {"seance": "polar", "membre": membre})])
    assert sql.execute("SELECT id, inscrits FROM seances").fetchall() == [("polar", 1)]


def test_a_parameter_without_a_text_form_is_refused_before_anything_is_sent(sql, database):
    with connect(database, autocommit=True) as conn:
        pipelined = Pipelined(conn)
        with pytest.raises(TypeError, match="list"):
            pipelined.commit([POLAR, (REQUEST, (["r1"], "00"))])
        assert conn.pgconn.pipeline_status == psycopg.pq.PipelineStatus.OFF
        pipelined.commit([(SEANCE, ("noir", "Noir", 3, 0, 800))])
    assert sql.execute("SELECT id FROM seances").fetchall() == [("noir",)]


def test_a_session_ended_by_the_server_raises_operational_error(owner_sql, database):
    with connect(database, autocommit=True) as conn:
        pipelined = Pipelined(conn)
        owner_sql.execute("SELECT pg_terminate_backend(%s, 5000)", (conn.info.backend_pid,))  # returns once it is gone
        with pytest.raises(psycopg.OperationalError):
            pipelined.commit([POLAR])
    assert count(owner_sql, "seances") == 0
