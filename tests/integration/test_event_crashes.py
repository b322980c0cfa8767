"""kill -9 of every part of the event path during a stream of commands: nothing lost, nothing twice."""

import random
import threading
import time

import pytest
import zmq

from monclub.db import connect
from monclub.db.outbox import append_events
from monclub.errors import Refus
from monclub.events.bus import TOPIC_EVENT, TOPIC_HEARTBEAT, endpoints
from monclub.wire import codec as wire
from tests.fixtures.postgres import add_membres
from tests.fixtures.waiting import wait_for

TARGETS = ["reunions/shard-0", "relay", "bus", "paiements", "notifications", "reunions/shard-1"]


@pytest.mark.slow
def test_kill_each_part_during_a_stream_then_verify_is_clean(tree, sql):
    rng = random.Random(20261124)
    membres = add_membres(sql, 40)
    seances = ["s0", "s1", "s2", "s3"]
    with tree.client() as client:
        for seance in seances:
            client.creer(seance, f"Séance {seance}", places=5, attente=5, tarif=500)
        client.creer("libre", "Lecture libre", places=10, tarif=0)
    failures: list[Exception] = []

    def work(seed: int) -> None:
        local = random.Random(seed)
        with tree.client() as client:
            for _ in range(40):
                seance = local.choice(seances + ["libre"])
                membre = local.choice(membres)
                try:
                    if local.random() < 0.6:
                        client.inscrire(seance, membre)
                    else:
                        client.desinscrire(seance, membre)
                except Refus:
                    pass
                except Exception as error:
                    failures.append(error)

    workers = [threading.Thread(target=work, args=(seed,)) for seed in range(6)]
    for worker in workers:
        worker.start()
    killed = []
    for target in TARGETS + rng.sample(TARGETS, 3):
        time.sleep(rng.uniform(0.1, 0.4))
        pid = tree.pids().get(target)
        if pid:
            tree.kill(target)
            killed.append(target)
        if target == "bus":
            with tree.client() as client:
                client.annuler("s3")
    for worker in workers:
        worker.join(timeout=120)
    assert not failures, failures
    assert set(TARGETS) <= set(killed)
    tree.wait_healthy()
    tree.wait_caught_up()
    verify = tree.monclub("verify", check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    live = sql.execute("SELECT count(*) FROM paiements WHERE statut IN ('en_attente', 'paye')").fetchone()[0]
    registered = sql.execute(
        "SELECT count(*) FROM inscriptions i JOIN seances s ON s.id = i.seance_id"
        " WHERE i.statut = 'inscrit' AND s.tarif > 0 AND NOT s.annulee"
    ).fetchone()[0]
    assert live == registered > 0


def test_the_relay_publishes_in_commit_order_whatever_order_writers_commit_in(tree):
    subscriber = zmq.Context.instance().socket(zmq.SUB)
    subscriber.linger = 0
    subscriber.subscribe(b"")
    subscriber.connect(endpoints(tree.config)[1])

    def heard_heartbeat():
        return subscriber.poll(200) and subscriber.recv_multipart()[0] == TOPIC_HEARTBEAT

    wait_for(heard_heartbeat, 20, "a heartbeat from the relay")
    writers, per_writer = 6, 20

    def write(w: int) -> None:
        rng = random.Random(w)
        with connect(tree.database, autocommit=True) as conn:
            for i in range(per_writer):
                with conn.transaction():
                    append_events(conn, [("test", f"w{w}", {"i": i})])
                    conn.execute("SELECT pg_sleep(%s)", (rng.random() * 0.003,))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    seqs: list[int] = []
    deadline = time.monotonic() + 30
    while len(seqs) < writers * per_writer and time.monotonic() < deadline:
        if subscriber.poll(500):
            topic, data = subscriber.recv_multipart()
            if topic == TOPIC_EVENT:
                seqs.append(wire.decode(data, wire.BUS_MESSAGE_BYTES, wire.BUS_LIMITS)["seq"])
    for thread in threads:
        thread.join()
    subscriber.close()
    assert seqs == list(range(1, writers * per_writer + 1))
