"""Séances through real shard processes on a real PostgreSQL."""

import uuid
from dataclasses import replace

import psycopg
import pytest

from monclub.client.sync import Client
from monclub.cluster.partition import partition_of
from monclub.contract import protocol
from monclub.errors import MonclubError, Refus
from monclub.wire import codec as wire
from tests.fixtures.postgres import add_membres
from tests.fixtures.processes import home_shard
from tests.fixtures.waiting import wait_for


def stored(sql, seance: str) -> tuple[list[int], list[int]]:
    rows = sql.execute(
        "SELECT membre_id, statut FROM inscriptions WHERE seance_id = %s ORDER BY rang", (seance,)
    ).fetchall()
    return [m for m, s in rows if s == "inscrit"], [m for m, s in rows if s == "attente"]


def test_creer_inscrire_voir(reunions, sql):
    membres = add_membres(sql, 3)
    with reunions.client() as client:
        created = client.creer("polar", "Soirée Polar", places=1, attente=1, tarif=500)
        assert created["seance"]["places_restantes"] == 1
        assert client.inscrire("polar", membres[0]) == {"statut": "inscrit"}
        assert client.inscrire("polar", membres[1]) == {"statut": "en_attente", "position": 1}
        with pytest.raises(Refus) as full:
            client.inscrire("polar", membres[2])
        etat = client.etat("polar")
    assert full.value.code == "seance_complete"
    assert etat["inscrits"] == [membres[0]] and etat["attente"] == [membres[1]]
    assert stored(sql, "polar") == ([membres[0]], [membres[1]])


def test_desinscrire_promotes_the_first_waiting_member(reunions, sql):
    a, b, c, d = add_membres(sql, 4)
    with reunions.client() as client:
        client.creer("manga", "Club Manga", places=2, attente=5)
        for membre in (a, b, c, d):
            client.inscrire("manga", membre)
        assert client.desinscrire("manga", a) == {"statut": "desinscrit", "promu": c}
        assert client.desinscrire("manga", d) == {"statut": "desinscrit", "promu": None}
        etat = client.etat("manga")
    assert (etat["inscrits"], etat["attente"]) == ([b, c], [])
    assert stored(sql, "manga") == ([b, c], [])


def test_changer_places_promotes_and_refuses_below_the_registered_count(reunions, sql):
    a, b, c = add_membres(sql, 3)
    with reunions.client() as client:
        client.creer("atelier", "Atelier d'écriture", places=1, attente=2)
        for membre in (a, b, c):
            client.inscrire("atelier", membre)
        assert client.changer_places("atelier", 2) == {"places": 2, "promus": [b]}
        with pytest.raises(Refus) as refused:
            client.changer_places("atelier", 1)
    assert refused.value.code == "places_insuffisantes"
    assert stored(sql, "atelier") == ([a, b], [c])


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda c, m: c.inscrire("nulle-part", m), "seance_inconnue"),
        (lambda c, m: c.inscrire("polar", 999_999), "membre_inconnu"),
        (lambda c, m: c.desinscrire("polar", m), "non_inscrit"),
        (lambda c, m: c.creer("polar", "encore", places=1), "seance_existe"),
    ],
)
def test_refusals_carry_their_code_and_leave_no_trace(reunions, sql, call, code):
    (membre,) = add_membres(sql, 1)
    with reunions.client() as client:
        client.creer("polar", "Soirée Polar", places=3)
        with pytest.raises(Refus) as refused:
            call(client, membre)
    assert refused.value.code == code
    assert sql.execute("SELECT count(*) FROM inscriptions").fetchone()[0] == 0
    assert sql.execute("SELECT titre FROM seances").fetchall() == [("Soirée Polar",)]


def test_a_request_sent_again_gets_the_original_outcome_and_is_applied_once(reunions, sql):
    a, b = add_membres(sql, 2)
    with reunions.client() as client:
        client.creer("polar", "Soirée Polar", places=1)
        rid = uuid.uuid4().hex
        first = client.inscrire("polar", a, request_id=rid)
        client.desinscrire("polar", a)
        client.inscrire("polar", b)
        again = client.inscrire("polar", a, request_id=rid)
    assert first == again == {"statut": "inscrit"}
    assert stored(sql, "polar") == ([b], [])


def test_a_request_id_sent_again_with_another_request_is_refused_and_nothing_is_applied(reunions, sql):
    a, b = add_membres(sql, 2)
    with reunions.client() as client:
        client.creer("polar", "Soirée Polar", places=2)
        rid = uuid.uuid4().hex
        assert client.inscrire("polar", a, request_id=rid) == {"statut": "inscrit"}
        for reuse in (
            lambda: client.inscrire("polar", b, request_id=rid),
            lambda: client.desinscrire("polar", a, request_id=rid),
        ):
            with pytest.raises(MonclubError) as refused:
                reuse()
            assert refused.value.code == "request_id_reused"
        assert client.inscrire("polar", a, request_id=rid) == {"statut": "inscrit"}
    assert stored(sql, "polar") == ([a], [])


def test_a_refusal_is_also_the_outcome_a_retry_gets(reunions, sql):
    a, b = add_membres(sql, 2)
    with reunions.client() as client:
        client.creer("polar", "Soirée Polar", places=1)
        client.inscrire("polar", a)
        rid = uuid.uuid4().hex
        with pytest.raises(Refus):
            client.inscrire("polar", b, request_id=rid)
        client.desinscrire("polar", a)
        with pytest.raises(Refus) as again:
            client.inscrire("polar", b, request_id=rid)
    assert again.value.code == "seance_complete"
    assert stored(sql, "polar") == ([], [])


def test_a_shard_answers_wrong_owner_naming_the_owner_of_a_partition_it_does_not_host(reunions):
    home = home_shard(reunions.config, "polar")
    with reunions.client() as client:
        client.creer("polar", "Polar", places=2)
        reply = client._attempt(
            reunions.config.endpoint("reunions", 1 - home),
            wire.encode(protocol.request("r" * 16, "etat", seance="polar")),
            "r" * 16,
            2.0,
        )
    assert reply["error"]["code"] == "wrong_owner"
    assert reply["error"]["owner"]["endpoint"] == reunions.config.endpoint("reunions", home)
    assert reply["error"]["owner"]["partition"] == partition_of("polar", reunions.config.partitions)


def test_a_client_that_guesses_the_wrong_shard_is_redirected_once_and_remembers(reunions):
    seance = next(f"s{i}" for i in range(100) if home_shard(reunions.config, f"s{i}") == 1)
    with reunions.client() as client:
        client.creer(seance, "Polar", places=2)
    with Client(replace(reunions.config, shards=1)) as guessing:
        assert guessing.etat(seance)["places"] == 2
        assert guessing.etat(seance)["places"] == 2
        assert guessing.redirects == 1, "redirected by shard 0 once, then sent to the owner directly"


def test_a_direct_sql_write_that_would_overbook_is_refused_by_the_database(reunions, sql):
    a, b = add_membres(sql, 2)
    with reunions.client() as client:
        client.creer("polar", "Soirée Polar", places=1)
        client.inscrire("polar", a)
    with pytest.raises(psycopg.errors.CheckViolation):
        sql.execute("INSERT INTO inscriptions (seance_id, membre_id, statut) VALUES ('polar', %s, 'inscrit')", (b,))
    with pytest.raises(psycopg.errors.UniqueViolation):
        sql.execute("INSERT INTO inscriptions (seance_id, membre_id, statut) VALUES ('polar', %s, 'attente')", (a,))
    assert sql.execute("SELECT inscrits FROM seances WHERE id = 'polar'").fetchone() == (1,)


def test_when_the_database_refuses_a_write_the_shard_reloads_and_stays_right(reunions, sql):
    a, b = add_membres(sql, 2)
    with reunions.client() as client:
        client.creer("polar", "Soirée Polar", places=1, attente=1)
        client.etat("polar")
        sql.execute("INSERT INTO inscriptions (seance_id, membre_id, statut) VALUES ('polar', %s, 'inscrit')", (a,))
        assert client.inscrire("polar", b) == {"statut": "en_attente", "position": 1}, "decided on what is stored"
    assert stored(sql, "polar") == ([a], [b])


def test_replies_carry_the_epoch_they_were_decided_at_and_a_resend_the_stored_one(reunions, sql):
    (membre,) = add_membres(sql, 1)
    endpoint = reunions.config.endpoint("reunions", home_shard(reunions.config, "polar"))
    partition = partition_of("polar", reunions.config.partitions)
    epoch_of = "SELECT epoch FROM partitions WHERE branch = 'reunions' AND partition = %s"

    def send(op: str, request_id: str, **fields) -> dict:
        with reunions.client() as client:
            return client._attempt(endpoint, wire.encode(protocol.request(request_id, op, **fields)), request_id, 5.0)

    created = send("creer", "creer-polar-0001", seance="polar", titre="Polar", places=2, attente=0, tarif=0)
    first = sql.execute(epoch_of, (partition,)).fetchone()[0]
    assert created["epoch"] == first
    assert send("etat", "etat-polar-0001", seance="polar")["epoch"] == first
    reunions.kill_shard(home_shard(reunions.config, "polar"))
    refused = wait_for(
        lambda: (
            (reply := send("creer", "creer-polar-0002", seance="polar", titre="P", places=1, attente=0, tarif=0))
            and reply["ok"] is False
            and reply["error"]["code"] != "unavailable"
            and reply
        ),
        30,
        "the restarted shard",
    )
    assert refused["error"]["code"] == "seance_existe" and refused["epoch"] == first + 1
    assert send("creer", "creer-polar-0001", seance="polar", titre="Polar", places=2, attente=0, tarif=0) == created
    assert send("inscrire", "inscrire-polar-01", seance="polar", membre=membre)["epoch"] == first + 1


def test_a_query_refused_by_the_owner_carries_its_epoch_as_a_command_refused_does(reunions, sql):
    """docs/protocol.md §6: `seance_inconnue` from `etat` and `places_restantes` carries the epoch,
    as from `inscrire`: every reply the owner of a partition decides does."""
    (membre,) = add_membres(sql, 1)
    endpoint = reunions.config.endpoint("reunions", home_shard(reunions.config, "ghost"))
    partition = partition_of("ghost", reunions.config.partitions)

    def send(op: str, **fields) -> dict | None:
        request_id = uuid.uuid4().hex
        with reunions.client() as client:
            return client._attempt(endpoint, wire.encode(protocol.request(request_id, op, **fields)), request_id, 5.0)

    replies = [send("etat", seance="ghost"), send("places_restantes", seance="ghost")]
    replies.append(send("inscrire", seance="ghost", membre=membre))
    epoch = sql.execute("SELECT epoch FROM partitions WHERE branch = 'reunions' AND partition = %s", (partition,))
    owned_at = epoch.fetchone()[0]
    for reply in replies:
        assert reply is not None and reply["error"]["code"] == "seance_inconnue", reply
        assert reply["epoch"] == owned_at, reply
