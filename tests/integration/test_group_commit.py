"""Group commit: a batch of commands is decided in order against memory, written in one
transaction, and answered only after its COMMIT; a failed batch changes nothing.

An in-process shard on the real database, fed batches directly (what the ROUTER loop does with
the messages waiting on its socket); the socket path is covered by the other integration tests.
"""

import psycopg
import pytest

from monclub.contract import protocol
from monclub.reunions import seance as core
from monclub.reunions.ops import OPS
from monclub.reunions.seance import liste_inscrits
from monclub.reunions.shard import seance_owner
from monclub.shards.batch import Write
from tests.fixtures.postgres import add_membres


def request(request_id: str, op: str, **fields) -> protocol.Request:
    return OPS.parse(protocol.request(request_id, op, **fields))


def inscrire(request_id: str, membre: int, seance: str = "polar") -> protocol.Request:
    return request(request_id, "inscrire", seance=seance, membre=membre)


@pytest.fixture
def shard(database):
    shard = seance_owner(0, database)
    reply = shard.handle(
        request("creer-polar-0001", "creer", seance="polar", titre="Polar", places=2, attente=1, tarif=500)
    )
    assert reply["ok"]
    yield shard
    shard.lease.forget()


@pytest.fixture
def membres(sql):
    return add_membres(sql, 6)


def statuts(reply_list) -> list:
    return [r["result"]["statut"] if r["ok"] else r["error"]["code"] for r in reply_list]


def test_a_batch_is_decided_in_order_and_written_in_one_transaction(shard, membres, sql):
    replies = shard.handle_batch([inscrire(f"inscrire-{m:08d}", m) for m in membres[:4]])
    assert statuts(replies) == ["inscrit", "inscrit", "en_attente", "seance_complete"]
    transactions = sql.execute("SELECT count(DISTINCT xmin::text) FROM requests WHERE id LIKE 'inscrire-%'").fetchone()[
        0
    ]
    assert transactions == 1
    assert sql.execute("SELECT inscrits, en_attente FROM seances WHERE id = 'polar'").fetchone() == (2, 1)
    assert [e for (e,) in sql.execute("SELECT type FROM events WHERE aggregate = 'seance/polar' ORDER BY seq")] == [
        "seance_creee",
        "membre_inscrit",
        "membre_inscrit",
        "membre_mis_en_attente",
    ]


def test_a_query_in_a_batch_answers_from_committed_state(shard, membres):
    first, etat, second = shard.handle_batch(
        [
            inscrire("inscrire-a-000001", membres[0]),
            request("etat-polar-000001", "etat", seance="polar"),
            inscrire("inscrire-b-000001", membres[1]),
        ]
    )
    assert first["ok"] and second["ok"]
    assert etat["result"]["inscrits"] == [membres[0]]


def test_the_same_request_twice_in_a_batch_is_applied_once(shard, membres, sql):
    twice = inscrire("inscrire-twice-01", membres[0])
    replies = shard.handle_batch([twice, twice])
    assert replies[0] == replies[1] and replies[0]["result"] == {"statut": "inscrit"}
    assert sql.execute("SELECT count(*) FROM inscriptions WHERE membre_id = %s", (membres[0],)).fetchone()[0] == 1


def test_the_same_request_id_twice_in_a_batch_with_another_request_is_refused(shard, membres, sql):
    replies = shard.handle_batch([inscrire("inscrire-twice-02", membres[0]), inscrire("inscrire-twice-02", membres[1])])
    assert replies[0]["result"] == {"statut": "inscrit"}
    assert replies[1]["error"]["code"] == "request_id_reused"
    assert sql.execute("SELECT membre_id FROM inscriptions").fetchall() == [(membres[0],)]


def test_a_request_already_applied_gets_its_first_reply_and_the_rest_of_the_batch_is_applied(shard, membres, sql):
    first = shard.handle(inscrire("inscrire-retry-01", membres[0]))
    replies = shard.handle_batch([inscrire("inscrire-other-01", membres[1]), inscrire("inscrire-retry-01", membres[0])])
    assert replies == [{**replies[0], "result": {"statut": "inscrit"}}, first]
    assert sql.execute("SELECT count(*) FROM inscriptions").fetchone()[0] == 2


def test_a_refused_write_fails_the_batch_then_each_command_is_tried_alone(shard, membres, sql):
    """A row written behind the shard's back makes the batch's transaction fail: the other command
    is applied in a transaction of its own; the conflicting one, refused alone too, is decided
    once more on the séance loaded again, and answered as stored."""
    sql.execute(
        "INSERT INTO inscriptions (seance_id, membre_id, statut) VALUES ('polar', %s, 'inscrit')", (membres[1],)
    )
    replies = shard.handle_batch([inscrire("inscrire-ok-00001", membres[0]), inscrire("inscrire-clash-01", membres[1])])
    assert statuts(replies) == ["inscrit", "deja_inscrit"]
    rows = sql.execute("SELECT membre_id FROM inscriptions ORDER BY rang").fetchall()
    assert [m for (m,) in rows] == [membres[1], membres[0]]
    assert liste_inscrits(shard.memory.aggregates.peek("polar")) == (membres[1], membres[0]), "memory is what is stored"
    etat = shard.handle(request("etat-polar-000002", "etat", seance="polar"))["result"]
    assert etat["inscrits"] == [membres[1], membres[0]]


def test_a_connection_lost_at_commit_leaves_memory_and_replies_as_if_nothing_happened(shard, membres, database, sql):
    before = shard.memory.aggregates.peek("polar")
    batch = [inscrire(f"inscrire-lost-{m:04d}", m) for m in membres[:2]]
    for membre in membres[:2]:
        assert shard.membres.exists(membre)
    sql.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
        " AND datname = current_database()"
    )
    replies = shard.handle_batch(batch)
    assert all(r is None or r["error"]["code"] == "unavailable" for r in replies)
    assert shard.memory.aggregates.peek("polar", before) == before
    assert sql.execute("SELECT count(*) FROM inscriptions").fetchone()[0] == 0
    again = shard.handle_batch(batch)
    assert statuts(again) == ["inscrit", "inscrit"]
    assert sql.execute("SELECT count(*) FROM inscriptions").fetchone()[0] == 2


def test_a_batch_that_fails_at_its_last_statement_leaves_no_row(shard, membres, sql):
    """The batch is one transaction: a failure after its first writes undoes them all."""
    sql.execute(
        "INSERT INTO inscriptions (seance_id, membre_id, statut) VALUES ('polar', %s, 'inscrit')", (membres[1],)
    )
    writes = [
        Write("inscrire-first-01", [core.MembreInscrit("polar", membres[0])], [], b"reply"),
        Write("inscrire-clash-02", [core.MembreInscrit("polar", membres[1])], [], b"reply"),
    ]
    with pytest.raises(psycopg.errors.UniqueViolation):
        shard.lease.store.write(writes)
    assert sql.execute("SELECT count(*) FROM requests WHERE id LIKE 'inscrire-%'").fetchone()[0] == 0
    assert sql.execute("SELECT count(*) FROM inscriptions WHERE membre_id = %s", (membres[0],)).fetchone()[0] == 0
    assert shard.handle(inscrire("inscrire-after-01", membres[2]))["result"] == {"statut": "inscrit"}


def test_an_unknown_membre_in_a_batch_is_refused_as_if_decided_alone(shard, membres, sql):
    """Membres are checked by the batch's foreign keys: an unknown one fails the batch, which is
    then retried command by command; a refused command naming one says membre_inconnu first."""
    shard.handle(request("places-polar-0001", "changer_places", seance="polar", places=3))
    replies = shard.handle_batch(
        [
            inscrire("inscrire-known-01", membres[0]),
            inscrire("inscrire-ghost-01", 999_999),
            inscrire("inscrire-known-02", membres[1]),
        ]
    )
    assert statuts(replies) == ["inscrit", "membre_inconnu", "inscrit"]
    full = shard.handle_batch(
        [
            inscrire("inscrire-known-03", membres[2]),
            inscrire("inscrire-known-04", membres[3]),
            inscrire("inscrire-ghost-02", 999_998),
        ]
    )
    assert statuts(full) == ["inscrit", "en_attente", "membre_inconnu"]
    assert 999_999 not in shard.memory.membres and 999_998 not in shard.memory.membres
    assert sql.execute("SELECT count(*) FROM inscriptions").fetchone()[0] == 4


def test_the_counters_follow_multi_row_writes_and_refuse_overbooking(shard, membres, sql):
    """Migration 004 keeps seances.inscrits / en_attente once per statement, whatever its rows."""
    replies = shard.handle_batch([inscrire(f"inscrire-count-{i:02d}", m) for i, m in enumerate(membres[:3])])
    assert statuts(replies) == ["inscrit", "inscrit", "en_attente"]
    shard.handle(request("desinscrire-00001", "desinscrire", seance="polar", membre=membres[0]))
    assert sql.execute("SELECT inscrits, en_attente FROM seances WHERE id = 'polar'").fetchone() == (2, 0)
    with pytest.raises(psycopg.errors.CheckViolation):
        sql.execute(
            "INSERT INTO inscriptions (seance_id, membre_id, statut) SELECT 'polar', unnest(%s::bigint[]), 'inscrit'",
            (membres[3:5],),
        )
    sql.execute("UPDATE inscriptions SET statut = 'attente' WHERE membre_id = %s", (membres[1],))
    assert sql.execute("SELECT inscrits, en_attente FROM seances WHERE id = 'polar'").fetchone() == (1, 1)


def test_a_session_failure_that_is_no_refusal_is_resolved_by_request_id(shard, membres, sql):
    """A statement the server can no longer run on this session (here: the prepared statements
    dropped behind psycopg's back, as a server restart mid-pipeline can leave them) is not a
    refusal of the write: the caller gets `unavailable` from the request id's resolution, never
    `internal_error`, and its retry is applied once."""
    for i, membre in enumerate(membres[:2]):
        assert shard.handle(inscrire(f"inscrire-warm-{i:02d}", membre))["ok"]
    for i in range(6):
        shard.handle(request(f"places-polar-{i:04d}", "changer_places", seance="polar", places=2 + i))
    shard.lease.store.conn.pgconn.exec_(b"DEALLOCATE ALL")
    failed = shard.handle(request("places-polar-0099", "changer_places", seance="polar", places=9))
    assert failed is not None and failed["error"]["code"] == "unavailable", failed
    assert sql.execute("SELECT places FROM seances WHERE id = 'polar'").fetchone() == (7,)
    retried = shard.handle(request("places-polar-0099", "changer_places", seance="polar", places=9))
    assert retried["result"]["places"] == 9
