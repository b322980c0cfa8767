"""A write that PostgreSQL refuses while the owner's memory allowed it: rows written behind a
shard's back with plain SQL, as the programs' role. The owner loads the aggregate again, decides
once more on what is stored, and answers that; refused once more, it answers internal_error
instead of looping."""

from pathlib import Path

import pytest

from monclub.config import Config
from monclub.contract import protocol
from monclub.prets.ops import OPS as LIVRE_OPS
from monclub.prets.shard import livre_owner
from monclub.reunions.ops import OPS as SEANCE_OPS
from monclub.reunions.shard import seance_owner
from tests.fixtures.postgres import add_membres

BEHIND_THE_BACK = "INSERT INTO inscriptions (seance_id, membre_id, statut) VALUES (%s, %s, 'inscrit')"


class Ask:
    def __init__(self, ops: protocol.Ops):
        self.ops, self.count = ops, 0

    def __call__(self, op: str, **fields) -> protocol.Request:
        self.count += 1
        return self.ops.parse(protocol.request(f"refused-{self.count:08d}", op, **fields))


@pytest.fixture
def seances(database):
    shard = seance_owner(0, database)
    yield shard, Ask(SEANCE_OPS)
    shard.lease.forget()


def _inscrits(sql, seance: str) -> list[int]:
    rows = sql.execute("SELECT membre_id FROM inscriptions WHERE seance_id = %s ORDER BY membre_id", (seance,))
    return [row[0] for row in rows.fetchall()]


def test_a_seat_taken_behind_the_owners_back_makes_the_next_registration_seance_complete(seances, sql):
    shard, ask = seances
    a, b = add_membres(sql, 2)
    assert shard.handle(ask("creer", seance="polar", titre="Polar", places=1, attente=0, tarif=0))["ok"]
    assert shard.handle(ask("etat", seance="polar"))["result"]["places_restantes"] == 1, "the owner holds it"
    sql.execute(BEHIND_THE_BACK, ("polar", b))

    reply = shard.handle(ask("inscrire", seance="polar", membre=a))

    assert not reply["ok"] and reply["error"]["code"] == "seance_complete", reply
    assert _inscrits(sql, "polar") == [b], "nothing of the refused command was written"
    assert shard.handle(ask("etat", seance="polar"))["result"]["inscrits"] == [b], "memory is what is stored"


def test_a_write_refused_again_after_the_reload_answers_internal_error_once(seances, sql, owner_sql):
    shard, ask = seances
    (a,) = add_membres(sql, 1)
    assert shard.handle(ask("creer", seance="polar", titre="Polar", places=2, attente=0, tarif=0))["ok"]
    owner_sql.execute(  # a rule of the database that no reload can satisfy, raised as the migrations raise theirs
        "CREATE FUNCTION refuse_polar() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'no registration for polar today' USING ERRCODE = 'check_violation'; END $$"
    )
    owner_sql.execute(
        "CREATE TRIGGER refuse_polar BEFORE INSERT ON inscriptions FOR EACH ROW "
        "WHEN (NEW.seance_id = 'polar') EXECUTE FUNCTION refuse_polar()"
    )

    reply = shard.handle(ask("inscrire", seance="polar", membre=a))

    assert not reply["ok"] and reply["error"]["code"] == "internal_error", reply
    assert _inscrits(sql, "polar") == []
    assert shard.handle(ask("etat", seance="polar"))["result"]["inscrits"] == []


def test_a_copy_lent_behind_the_owners_back_makes_the_next_loan_deja_emprunte(database, sql):
    config = Config(home=Path("/nonexistent"), pret_shards=1)
    shard, ask = livre_owner(config, database, 0), Ask(LIVRE_OPS)
    try:
        a, b = add_membres(sql, 2)
        assert shard.handle(ask("ajouter", livre="dune", titre="Dune"))["ok"]
        assert shard.handle(ask("etat", livre="dune"))["result"]["emprunteur"] is None, "the owner holds it"
        with sql.transaction():  # a loan, as a loan shard writes it
            sql.execute(
                "UPDATE livres SET emprunteur = %s, echeance = now() + interval '1 day' WHERE id = 'dune'", (b,)
            )
            sql.execute("INSERT INTO prets (livre_id, membre_id, echeance) VALUES ('dune', %s, now())", (b,))

        reply = shard.handle(ask("emprunter", livre="dune", membre=a, jours=3))

        assert not reply["ok"] and reply["error"]["code"] == "deja_emprunte", reply
        assert shard.handle(ask("etat", livre="dune"))["result"]["emprunteur"] == b
    finally:
        shard.lease.forget()
