"""Fencing by epoch, on the real database: a write checks, inside its own transaction, that its
epoch is still the partition's, and that check conflicts with the bump of a new owner."""

import subprocess
import threading

import psycopg
import pytest

from monclub.cluster import ownership
from monclub.cluster.partition import partition_of
from monclub.db import connect
from monclub.drills.audit import violations
from monclub.errors import Unavailable
from monclub.reunions import seance
from monclub.reunions.domain import Seances
from monclub.reunions.store import SeanceStore
from monclub.shards.batch import Write
from monclub.shards.domain import outbox_records
from tests.fixtures.ownership import bump
from tests.fixtures.postgres import add_membres
from tests.fixtures.processes import home_shard
from tests.fixtures.waiting import wait_for

FENCE_FOR_SHARE = ownership.FENCE
FENCE_PLAIN = "SELECT 1 / count(*)::int FROM partitions WHERE branch = %s AND partition = %s AND epoch = %s"


def _bump_in_background(database: str) -> tuple[threading.Thread, dict]:
    """A new owner acquiring partition reunions/0 on a session of its own; returns at once."""
    result: dict = {}

    def take() -> None:
        with connect(database, autocommit=True) as conn:
            result["pid"] = conn.info.backend_pid
            result["epoch"] = bump(conn, "reunions", 0, "new owner")

    thread = threading.Thread(target=take, daemon=True)
    thread.start()
    wait_for(lambda: "pid" in result, 10, "the new owner's session")
    return thread, result


def _waiting_on_a_lock(sql: psycopg.Connection, pid: int) -> bool:
    row = sql.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
    return row is not None and row[0] == "Lock"


def _check_then_commit(database: str, sql: psycopg.Connection, fence: str) -> tuple[bool, int]:
    """Old owner (epoch 1) checks; a new owner bumps; the old owner writes and commits. Whether
    the bump had to wait for the old owner's commit, and the epoch the new owner got."""
    with connect(database) as old:
        assert bump(old, "reunions", 0, "old owner") == 1
        old.commit()
        old.execute(fence, ("reunions", 0, 1))
        thread, bumped = _bump_in_background(database)
        waited = False
        try:
            wait_for(lambda: _waiting_on_a_lock(sql, bumped["pid"]), 2, "the bump to wait for the check")
            waited = True
        except AssertionError:
            thread.join(timeout=10)
        old.execute(
            "INSERT INTO requests (id, shard, epoch, reply) VALUES ('old-write-0001', 'reunions/shard-0', 1, '')"
        )
        old.commit()
    thread.join(timeout=10)
    assert not thread.is_alive()
    return waited, bumped["epoch"]


def test_the_check_holds_back_a_bump_until_the_checked_write_commits(database, sql):
    waited, epoch = _check_then_commit(database, sql, FENCE_FOR_SHARE)
    assert waited and epoch == 2
    with connect(database) as old, pytest.raises(psycopg.Error) as refused:
        old.execute(FENCE_FOR_SHARE, ("reunions", 0, 1))
    assert ownership.fenced(refused.value)


def test_a_plain_select_lets_a_bump_slip_in_before_the_commit(database, sql):
    """Why FOR SHARE: read without a lock, the check is stale by the time the write commits."""
    waited, epoch = _check_then_commit(database, sql, FENCE_PLAIN)
    assert not waited and epoch == 2
    committed = sql.execute("SELECT epoch FROM requests WHERE id = 'old-write-0001'").fetchone()
    assert committed == (1,), "the old owner committed after the new owner's bump"


def _write(store: SeanceStore, request_id: str, seance_id: str) -> None:
    events = seance.creer(seance_id, "Polar", 2, 0, 0)
    after = Seances().apply(None, events)
    records = outbox_records(Seances(), events, after)
    store.write([Write(request_id, events, records, b"reply")])


@pytest.mark.parametrize("fence", [True, False], ids=["fenced", "no_fence"])
def test_a_stale_owner_cannot_commit_and_the_audit_counts_it_when_the_fence_is_off(database, sql, fence):
    store = SeanceStore.open(database, "reunions/shard-0", 0, fence=fence)
    _write(store, "creer-before-0001", "avant")
    assert bump(sql, "reunions", 0, "new owner") == store.epoch + 1
    stale = [line for line in violations(sql) if line.startswith("commit under a stale epoch")]
    assert stale == []
    if fence:
        with pytest.raises(ownership.FencedOut):
            _write(store, "creer-after-00001", "apres")
        assert not store.usable
        assert sql.execute("SELECT count(*) FROM requests WHERE id = 'creer-after-00001'").fetchone() == (0,)
    else:
        _write(store, "creer-after-00001", "apres")
        stale = [line for line in violations(sql) if line.startswith("commit under a stale epoch")]
        assert len(stale) == 1 and ", reunions, 0, 1, 2" in stale[0]
        store.close()


def test_a_lease_is_respected_unless_its_process_is_this_nodes_and_dead(sql):
    """Who may take a partition whose lease still runs: the same process again (it reconnects);
    a process of the same node once the holder is dead; nobody else until the lease runs out."""
    assert ownership.take(sql, "reunions", 0, "shard-0 pid x", "node-a") == 1
    with pytest.raises(ownership.Held, match="on node-a"):
        ownership.take(sql, "reunions", 0, "shard-0 pid y", "node-b")
    assert ownership.take(sql, "reunions", 0, "shard-0 pid x", "node-a") == 2
    reaped = subprocess.Popen(["true"])
    reaped.wait()
    sql.execute(
        "UPDATE partitions SET owner_pid = %s, lease_until = now() + interval '1 hour' WHERE partition = 0",
        (reaped.pid,),
    )
    with pytest.raises(ownership.Held):
        ownership.take(sql, "reunions", 0, "shard-0 pid y", "node-b")
    assert ownership.take(sql, "reunions", 0, "shard-0 pid z", "node-a") == 3
    sql.execute("UPDATE partitions SET owner_pid = 1, lease_until = now() + interval '1 second' WHERE partition = 0")
    assert wait_for(lambda: _took(sql, "node-b"), 5, "the lease to run out") == 4


def _took(sql, node: str) -> int | None:
    try:
        return ownership.take(sql, "reunions", 0, "shard-0", node)
    except ownership.Held:
        return None


def test_every_row_a_shard_writes_carries_the_epoch_it_was_written_under(reunions, sql):
    a, b = add_membres(sql, 2)
    epoch_of = "SELECT epoch FROM partitions WHERE branch = 'reunions' AND partition = %s"
    rows = (
        "SELECT s.epoch, array_agg(i.epoch ORDER BY i.rang) FROM seances s"
        " JOIN inscriptions i ON i.seance_id = s.id WHERE s.id = 'polar' GROUP BY s.epoch"
    )
    with reunions.client() as client:
        client.creer("polar", "Polar", places=3)
        client.inscrire("polar", a)
    first = sql.execute(epoch_of, (partition_of("polar", reunions.config.partitions),)).fetchone()[0]
    assert sql.execute(rows).fetchone() == (first, [first])
    reunions.kill_shard(home_shard(reunions.config, "polar"))
    with reunions.client() as client:
        client.inscrire("polar", b)
    assert sql.execute(rows).fetchone() == (first + 1, [first, first + 1]), (
        "the séance's counters updated at the new epoch"
    )


def test_an_owner_frozen_inside_its_transaction_does_not_block_the_next_owner(database, sql):
    """Frozen between its fence and its commit, an owner holds the partition's row: once its lease
    has run out, the next owner's take ends that session instead of waiting on the row forever."""
    with connect(database, autocommit=True) as frozen:
        assert ownership.lock(frozen, "reunions", 7)
        epoch = ownership.take(frozen, "reunions", 7, "reunions/shard-3", "node-a")
        frozen.autocommit = False
        frozen.execute(ownership.FENCE, ("reunions", 7, epoch))  # its transaction holds the row
        lease_over = "SELECT lease_until < now() FROM partitions WHERE branch = 'reunions' AND partition = 7"
        wait_for(lambda: sql.execute(lease_over).fetchone()[0], 10, "the frozen owner's lease to run out")

        def next_owner():
            try:
                return SeanceStore.open(database, "reunions/shard-1", 7, True, "node-b")
            except Unavailable:
                return None

        store = wait_for(next_owner, 10, "the next owner to take the partition", interval=0.1)
        try:
            assert store.epoch == epoch + 1
            with pytest.raises(psycopg.OperationalError):
                frozen.commit()
        finally:
            store.close()
