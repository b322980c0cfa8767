"""One owner per partition, on one host: a second process started by hand for a live shard waits
for it instead of silently taking over its ipc socket file (and its new clients); a shard whose
database session ended never answers from stale memory once another process may own its
partition."""

import os
import re
import signal
import subprocess
import sys

import pytest

from monclub import registry
from monclub.client.sync import probe
from monclub.cluster import ownership
from monclub.cluster.partition import partition_of
from monclub.db import connect
from monclub.errors import Timeout, Unavailable
from monclub.reunions.store import SeanceStore
from tests.fixtures.postgres import add_membres
from tests.fixtures.processes import home_shard
from tests.fixtures.waiting import wait_for

HAND_STARTED = (
    "import sys; from monclub import config; from monclub.reunions.shard import BRANCH;"
    " from monclub.shards.branch import run_shard; c = config.load();"
    " sys.exit(run_shard(BRANCH, c, c.conninfo(), 1))"
)


def test_a_shard_started_by_hand_for_a_live_shard_waits_and_steals_no_client(reunions, tmp_path):
    real = reunions.shard_pids()[1]
    log = tmp_path / "intruder.log"
    with log.open("wb") as stderr:
        intruder = subprocess.Popen([sys.executable, "-c", HAND_STARTED], env=reunions.env, stderr=stderr)
    try:
        wait_for(lambda: "waiting for it to end" in log.read_text(), 20, "the intruder to say it waits")
        assert f"served by pid {real}" in log.read_text()
        for _ in range(5):
            assert probe(reunions.config, 1, timeout=2.0)["pid"] == real, "a new client reached the intruder"
        assert intruder.poll() is None
        reunions.kill_shard(1)
        wait_for(lambda: (probe(reunions.config, 1) or {}).get("pid") not in (None, real), 30, "shard 1 served again")
    finally:
        intruder.kill()
        intruder.wait()


def _take_when_free(intruder, partition: int) -> int:
    """Take the partition as a new owner would: only once the lease of the live shard ran out."""
    held = 0

    def attempt() -> int | None:
        nonlocal held
        try:
            return ownership.take(intruder, "reunions", partition, "intruder", "another-node")
        except ownership.Held:
            held += 1
            return None

    epoch = wait_for(attempt, 10, "the lease to run out", interval=0.1)
    assert held, "the lease of a live shard was not respected"
    return epoch


def test_a_shard_whose_session_ended_never_answers_from_stale_memory(reunions, database, sql):
    a, b, c = add_membres(sql, 3)
    partition = partition_of("polar", reunions.config.partitions)
    with reunions.client() as client:
        client.creer("polar", "Polar", places=5)
        client.inscrire("polar", a)
        client.inscrire("polar", b)
        assert client.etat("polar")["inscrits"] == [a, b]
    backend = _lock_holder(sql, partition)
    shard = reunions.shard_pids()[home_shard(reunions.config, "polar")]
    os.kill(shard, signal.SIGSTOP)  # so that the intruder, not the shard, takes the lock once the session ended
    with connect(database, autocommit=True) as intruder:
        try:
            sql.execute("SELECT pg_terminate_backend(%s)", (backend,))
            wait_for(lambda: ownership.lock(intruder, "reunions", partition), 10, "the ended session's lock")
            _take_when_free(intruder, partition)
            intruder.execute(
                "INSERT INTO inscriptions (seance_id, membre_id, statut) VALUES ('polar', %s, 'inscrit')", (c,)
            )
        finally:
            os.kill(shard, signal.SIGCONT)
        with reunions.client(deadline=1.0) as client, pytest.raises(Unavailable):
            client.etat("polar")
    with reunions.client() as client:
        assert client.etat("polar")["inscrits"] == [a, b, c]


def _lock_holder(sql, partition: int) -> int:
    return sql.execute(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND objid = %s AND granted",
        (registry.LOCK_CLASSES["reunions"], partition),
    ).fetchone()[0]


def test_a_restarted_shard_that_cannot_take_its_partition_says_so_then_takes_it(reunions, database, sql):
    """Not a silent `unavailable` to everyone behind a healthy status: its ping says which partition
    it waits for, held by whom, until when; it is not restarted for that, and it takes the
    partition by itself once that lease ends. (The old shard is frozen first: another node's
    process takes partition 1 once the frozen one's lease has run out, though its session still
    holds the lock.)"""
    old = reunions.shard_pids()[1]
    os.kill(old, signal.SIGSTOP)
    with connect(database, autocommit=True) as intruder:
        _take_when_free(intruder, 1)
        os.kill(old, signal.SIGKILL)
        waiting = wait_for(
            lambda: (answer := probe(reunions.config, 1)) and answer["pid"] != old and answer["waiting"],
            20,
            "the restarted shard to say it waits",
        )
        assert re.fullmatch(
            r"waiting for partition 1 \(held by intruder \(pid \d+\) on another-node, lease ends in \d\.\ds\)", waiting
        ), waiting
        restarted = reunions.shard_pids()[1]
        answer = wait_for(
            lambda: (found := probe(reunions.config, 1)) and all(p["epoch"] for p in found["partitions"]) and found,
            20,
            "the partition",
        )
    assert answer["waiting"] is None and answer["pid"] == restarted, "taken by the same process, not restarted"


def test_a_frozen_owner_keeps_its_lock_but_loses_the_partition_once_its_lease_ran_out(reunions, database, sql):
    """A frozen node's session keeps its advisory lock (its kernel still answers keepalives): once
    its lease has run out by PostgreSQL's clock, another node takes the partition without that
    lock, and ends the frozen session; thawed, the old owner commits nothing."""
    old = reunions.shard_pids()[1]
    frozen = _lock_holder(sql, 1)
    os.kill(old, signal.SIGSTOP)
    lease_over = "SELECT lease_until < now() FROM partitions WHERE branch = 'reunions' AND partition = 1"
    wait_for(lambda: sql.execute(lease_over).fetchone()[0], 10, "the frozen owner's lease to run out")
    before = sql.execute("SELECT epoch FROM partitions WHERE branch = 'reunions' AND partition = 1").fetchone()[0]
    store = SeanceStore.open(database, "reunions/shard-1", 1, True, "another-node")
    try:
        assert store.epoch == before + 1
        wait_for(
            lambda: sql.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (frozen,)).fetchone() is None,
            10,
            "the frozen session to end",
        )
        os.kill(old, signal.SIGCONT)
        seance = next(f"s{i}" for i in range(200) if partition_of(f"s{i}", reunions.config.partitions) == 1)
        with reunions.client(deadline=1.0) as client, pytest.raises((Unavailable, Timeout)):
            client.creer(seance, "Polar", places=2)
        assert sql.execute("SELECT count(*) FROM seances WHERE id = %s", (seance,)).fetchone()[0] == 0
    finally:
        store.release()
