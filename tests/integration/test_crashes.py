"""Storms of concurrent clients, kill -9 of shards and supervisors, lost database sessions."""

import os
import signal
import threading

from monclub.cluster.partition import partition_of
from monclub.errors import MonclubError
from monclub.tree.supervisord import alive
from tests.fixtures.postgres import add_membres
from tests.fixtures.processes import home_shard
from tests.fixtures.waiting import wait_for

CLIENTS = 50
PLACES = 10


def registered(sql, seance: str) -> int:
    return sql.execute("SELECT count(*) FROM inscriptions WHERE seance_id = %s", (seance,)).fetchone()[0]


def storm(reunions, sql, seance: str, during=None) -> dict[int, object]:
    """CLIENTS threads each register one member on `seance`; the first half starts at once, the
    second half when `during` (if any) fires, which it does mid-storm. One outcome per member."""
    membres = add_membres(sql, CLIENTS)
    outcomes: dict[int, object] = {}
    second_wave = threading.Event()

    def register(membre: int, wave: threading.Event | None) -> None:
        if wave is not None:
            wave.wait(timeout=60)
        with reunions.client() as client:
            try:
                outcomes[membre] = client.inscrire(seance, membre)
            except MonclubError as error:
                outcomes[membre] = error

    threads = [
        threading.Thread(target=register, args=(m, second_wave if i >= CLIENTS // 2 and during else None))
        for i, m in enumerate(membres)
    ]
    for thread in threads:
        thread.start()
    if during:
        wait_for(lambda: registered(sql, seance) >= 5, 30, "the first registrations", interval=0.001)
        second_wave.set()
        during()
    for thread in threads:
        thread.join(timeout=60)
    assert set(outcomes) == set(membres), "every client gets exactly one answer"
    return outcomes


def assert_storm_outcome(sql, seance: str, outcomes: dict) -> None:
    errors = {m: o for m, o in outcomes.items() if isinstance(o, Exception)}
    assert not errors
    inscrits = {m for m, o in outcomes.items() if o["statut"] == "inscrit"}
    waiting = sorted((o["position"], m) for m, o in outcomes.items() if o["statut"] == "en_attente")
    assert len(inscrits) == PLACES
    assert [p for p, _ in waiting] == list(range(1, CLIENTS - PLACES + 1))
    rows = sql.execute(
        "SELECT membre_id, statut FROM inscriptions WHERE seance_id = %s ORDER BY rang", (seance,)
    ).fetchall()
    assert {m for m, s in rows if s == "inscrit"} == inscrits
    assert [m for m, s in rows if s == "attente"] == [m for _, m in waiting]
    assert sql.execute("SELECT inscrits, en_attente FROM seances WHERE id = %s", (seance,)).fetchone() == (
        PLACES,
        CLIENTS - PLACES,
    )


def test_fifty_clients_on_ten_places(reunions, sql):
    with reunions.client() as client:
        client.creer("polar", "Soirée Polar", places=PLACES, attente=CLIENTS)
    assert_storm_outcome(sql, "polar", storm(reunions, sql, "polar"))


def test_fifty_clients_with_the_owning_shard_killed_mid_storm(reunions, sql):
    with reunions.client() as client:
        client.creer("polar", "Soirée Polar", places=PLACES, attente=CLIENTS)
    shard = home_shard(reunions.config, "polar")
    killed = []

    def kill():
        killed.append((reunions.kill_shard(shard), registered(sql, "polar")))

    outcomes = storm(reunions, sql, "polar", during=kill)
    ((pid, at),) = killed
    assert at < CLIENTS, "the kill landed before the storm was over"
    assert_storm_outcome(sql, "polar", outcomes)
    assert reunions.shard_pids()[shard] not in (None, pid)


def test_the_supervisor_restarts_only_the_killed_shard(reunions):
    before = reunions.shard_pids()
    os.kill(before[0], signal.SIGKILL)
    wait_for(lambda: reunions.shard_pids()[0] not in (None, before[0]), 10, "shard 0 to be restarted")
    after = reunions.status()["children"]
    assert reunions.shard_pids()[1] == before[1]
    assert after[0]["restarts"] == 1 and after[0]["last_exit"] == "killed by SIGKILL"
    assert after[1]["restarts"] == 0
    reunions.wait_ready()


def test_more_restarts_than_the_intensity_and_the_supervisor_exits_1(start_reunions):
    reunions = start_reunions(config="[reunions]\nrestart_intensity = 2\nrestart_period = 30.0\n")
    for _ in range(3):
        pid = wait_for(lambda: reunions.shard_pids().get(0), 10, "shard 0 running")
        os.kill(pid, signal.SIGKILL)
        wait_for(
            lambda pid=pid: reunions.process.poll() is not None or reunions.shard_pids().get(0) != pid, 10, "a restart"
        )
    assert reunions.process.wait(timeout=10) == 1


def test_a_different_partition_count_than_the_database_has_is_refused_with_exit_78(start_reunions):
    start_reunions(shards=2).stop()
    other = start_reunions(shards=2, wait=False, config="[reunions]\npartitions = 8\n")
    assert other.process.wait(timeout=20) == 78


def test_the_shard_count_may_change_at_a_restart(start_reunions):
    start_reunions(shards=2).stop()
    reunions = start_reunions(shards=3)
    with reunions.client() as client:
        client.creer("polar", "Polar", places=2)
        assert client.etat("polar")["places"] == 2


def test_shards_die_with_their_supervisor(reunions):
    pids = list(reunions.shard_pids().values())
    reunions.process.kill()
    reunions.process.wait()
    wait_for(lambda: not any(alive(pid) for pid in pids), 10, "the orphaned shards to die")


def test_a_second_process_for_a_shard_cannot_write_while_the_first_lives(start_reunions, state_dirs, sql):
    """It sends the client to the first, which writes; once the first is gone, it takes over."""
    a, b = add_membres(sql, 2)
    first = start_reunions()
    with first.client() as client:
        client.creer("polar", "Soirée Polar", places=5)
    epochs = "SELECT epoch, endpoint FROM partitions WHERE branch = 'reunions' AND partition = %s"
    partition = partition_of("polar", first.config.partitions)
    owned = sql.execute(epochs, (partition,)).fetchone()
    second = start_reunions(home=state_dirs(), wait=False)
    wait_for(lambda: second.status() is not None, 20, "the second supervisor")
    with second.client() as redirected:
        assert redirected.inscrire("polar", a) == {"statut": "inscrit"}
        assert redirected.redirects == 1
    assert sql.execute(epochs, (partition,)).fetchone() == owned, "the first one wrote, at its epoch"
    first.process.kill()
    first.process.wait()
    with second.client() as client:
        assert client.inscrire("polar", b) == {"statut": "inscrit"}
    assert registered(sql, "polar") == 2
    assert sql.execute(epochs, (partition,)).fetchone()[1] == second.config.endpoint(
        "reunions", home_shard(second.config, "polar")
    )


def test_a_lost_database_session_is_reopened_without_a_restart(reunions, sql):
    a, b = add_membres(sql, 2)
    with reunions.client() as client:
        client.creer("polar", "Soirée Polar", places=5)
        client.inscrire("polar", a)
        pids = reunions.shard_pids()
        sql.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert client.inscrire("polar", b) == {"statut": "inscrit"}
        assert client.etat("polar")["inscrits"] == [a, b]
    assert reunions.shard_pids() == pids
