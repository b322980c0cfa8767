"""A shard process's batch over several partitions, on the real database: one transaction for
all their commands, each partition's part fenced by its own epoch; a part fenced out costs the
others nothing, and a shared commit whose outcome is unknown is resolved by request id for every
part. An in-process host of two partitions, fed batches as its ROUTER loop feeds it."""

import pytest

from monclub.cluster.partition import partition_of
from monclub.contract import protocol
from monclub.reunions.domain import Seances
from monclub.reunions.ops import OPS
from monclub.reunions.shard import seance_owner
from monclub.shards.host import ShardHost
from tests.fixtures.ownership import bump
from tests.fixtures.postgres import add_membres
from tests.unit.test_shard_host import FixedDirectory

PARTITIONS = 16
A, B = (next(f"seance-{i}" for i in range(1000) if partition_of(f"seance-{i}", PARTITIONS) == p) for p in (0, 1))


def ask(request_id: str, op: str, **fields) -> protocol.Request:
    return OPS.parse(protocol.request(request_id, op, **fields))


def inscrire(seance: str, membre: int) -> protocol.Request:
    return ask(f"inscrire-{seance}-{membre}", "inscrire", seance=seance, membre=membre)


def codes(replies: list) -> list:
    return [None if r is None else r["result"]["statut"] if r["ok"] else r["error"]["code"] for r in replies]


@pytest.fixture
def shard(database):
    host = ShardHost(
        Seances(),
        "reunions/shard-0",
        "ipc:///nonexistent",
        PARTITIONS,
        lambda partition: seance_owner(partition, database),
        lambda: None,
        FixedDirectory([]),
        [0, 1],
    )
    created = [ask(f"creer-{s}", "creer", seance=s, titre=s, places=100, attente=0, tarif=0) for s in (A, B)]
    assert all(reply["ok"] for reply in host.handle_batch(created))
    yield host
    host.close()


def test_the_commands_of_two_partitions_are_one_transaction_each_part_under_its_epoch(shard, sql):
    a, b = add_membres(sql, 2)
    replies = shard.handle_batch([inscrire(A, a), inscrire(B, b), inscrire(A, b)])
    assert codes(replies) == ["inscrit", "inscrit", "inscrit"]
    xmins = sql.execute("SELECT count(DISTINCT xmin::text) FROM requests WHERE id LIKE 'inscrire-%'").fetchone()
    assert xmins == (1,)
    epochs = dict(sql.execute("SELECT partition, epoch FROM partitions WHERE branch = 'reunions'").fetchall())
    rows = sql.execute("SELECT DISTINCT seance_id, epoch FROM inscriptions ORDER BY seance_id").fetchall()
    assert sorted(rows) == sorted([(A, epochs[0]), (B, epochs[1])])
    events = sql.execute("SELECT DISTINCT partition, epoch FROM events WHERE type = 'membre_inscrit'").fetchall()
    assert sorted(events) == [(0, epochs[0]), (1, epochs[1])]


def test_a_part_fenced_out_is_refused_and_the_other_commits(shard, sql):
    a, b = add_membres(sql, 2)
    bump(sql, "reunions", 1, "another owner")
    replies = shard.handle_batch([inscrire(A, a), inscrire(B, b)])
    assert codes(replies) == ["inscrit", "unavailable"]
    assert sql.execute("SELECT seance_id FROM inscriptions").fetchall() == [(A,)]
    assert sql.execute("SELECT count(*) FROM requests WHERE id LIKE 'inscrire-%'").fetchone() == (1,)


def test_a_shared_commit_that_fails_without_a_refusal_is_resolved_by_request_id_and_applied_once(shard, sql):
    """The lead session's prepared statements dropped behind psycopg's back (as a server restart
    mid-pipeline can leave them): the shared write fails in a way that cannot tell whether it
    committed, so every part is resolved on a new session: nothing was, so `unavailable`."""
    membres = add_membres(sql, 12)
    for i in range(5):
        assert codes(shard.handle_batch([inscrire(A, membres[i]), inscrire(B, membres[i])])) == ["inscrit"] * 2
    epochs = [owner.lease.store.epoch for owner in shard.owners.values()]
    shard.owners[0].lease.store.conn.pgconn.exec_(b"DEALLOCATE ALL")
    batch = [inscrire(A, membres[10]), inscrire(B, membres[11])]
    assert codes(shard.handle_batch(batch)) == ["unavailable", "unavailable"]
    assert [owner.lease.store.epoch for owner in shard.owners.values()] == [e + 1 for e in epochs], "resolved anew"
    assert sql.execute("SELECT count(*) FROM inscriptions").fetchone() == (10,)
    assert codes(shard.handle_batch(batch)) == ["inscrit", "inscrit"]
    assert codes(shard.handle_batch(batch)) == ["inscrit", "inscrit"]
    assert sql.execute("SELECT count(*) FROM inscriptions").fetchone() == (12,), "applied once"
