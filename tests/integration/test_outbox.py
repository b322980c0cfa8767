"""The outbox: events written with the change, numbered gapless and visible in commit order."""

import random
import threading
import time
from pathlib import Path

import psycopg
import pytest

from monclub.cluster import ownership
from monclub.config import Config
from monclub.db import connect
from monclub.db.outbox import CHANNEL, append_events, latest_seq, read_events
from monclub.events.archive import archive
from monclub.events.retention import prune
from monclub.shards.waker import GAP_SECONDS, RelayWaker
from tests.fixtures.ownership import bump
from tests.fixtures.postgres import add_membres
from tests.fixtures.waiting import wait_for


def test_a_command_records_its_events_with_the_change_and_a_refusal_records_none(reunions, sql):
    a, b = add_membres(sql, 2)
    with reunions.client() as client:
        client.creer("polar", "Soirée Polar", places=1, attente=1, tarif=800)
        client.inscrire("polar", a)
        client.inscrire("polar", b)
        client.desinscrire("polar", a)
        try:
            client.inscrire("polar", b)
        except Exception:
            pass
    events = read_events(sql, 0)
    assert [(e["seq"], e["type"]) for e in events] == [
        (1, "seance_creee"),
        (2, "membre_inscrit"),
        (3, "membre_mis_en_attente"),
        (4, "membre_desinscrit"),
        (5, "membre_promu"),
    ]
    assert events[1]["aggregate"] == "seance/polar"
    assert events[1]["payload"] == {"seance": "polar", "membre": a, "titre": "Soirée Polar", "tarif": 800}
    assert events[2]["payload"]["position"] == 1
    assert latest_seq(sql) == 5


def test_concurrent_writers_committing_out_of_order_leave_no_gap_a_reader_could_skip(database):
    """Writers hold their transaction open for random times, some roll back; a reader that only
    ever asks for seq > last seen must still see every committed event, in order, exactly once."""
    writers, per_writer = 8, 25
    committed: list[str] = []
    lock = threading.Lock()
    done = threading.Event()

    def write(w: int) -> None:
        rng = random.Random(w)
        with connect(database, autocommit=True) as conn:
            for i in range(per_writer):
                tag = f"w{w}-{i}"
                try:
                    with conn.transaction():
                        append_events(conn, [("test", tag, {"i": i})])
                        conn.execute("SELECT pg_sleep(%s)", (rng.random() * 0.004,))
                        if rng.random() < 0.2:
                            raise RuntimeError("roll back")
                except RuntimeError:
                    continue
                with lock:
                    committed.append(tag)

    seen: list[dict] = []

    def read() -> None:
        with connect(database, autocommit=True) as conn:
            while True:
                finished = done.is_set()
                batch = read_events(conn, seen[-1]["seq"] if seen else 0)
                seen.extend(batch)
                if finished and not batch:
                    return

    reader = threading.Thread(target=read)
    reader.start()
    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    reader.join(timeout=30)
    assert [e["seq"] for e in seen] == list(range(1, len(committed) + 1))
    assert sorted(e["aggregate"] for e in seen) == sorted(committed)
    assert 0 < len(committed) < writers * per_writer


def test_pruning_keeps_what_a_listener_has_not_consumed_and_recent_replies(sql, owner_sql):
    with sql.transaction():
        append_events(sql, [("test", f"a{i}", {}) for i in range(10)])
    sql.execute("UPDATE listener_positions SET seq = CASE listener WHEN 'paiements' THEN 7 ELSE 4 END")
    sql.execute(
        "INSERT INTO requests (id, shard, reply, cree_le) VALUES ('old-request', 'x', '', now() - interval '2 days'),"
        " ('new-request', 'x', '', now())"
    )
    owner_sql.execute("UPDATE events SET at = now() - interval '2 days'")  # events are append-only for the programs
    relay = ("relay", 0, ownership.take(sql, "relay", 0, "relay", "node-a"))
    assert archive(sql, relay, batch=2) == (2, 2)
    assert prune(sql, Config(home=Path("/tmp/unused")), relay) == (2, 1), "nothing leaves the outbox unarchived"
    assert archive(sql, relay) == (10, 8)
    assert prune(sql, Config(home=Path("/tmp/unused")), relay) == (2, 0)
    assert [e["seq"] for e in read_events(sql, 0)] == [5, 6, 7, 8, 9, 10]
    archived = sql.execute("SELECT seq FROM history WHERE type = 'test' ORDER BY seq").fetchall()
    assert [seq for (seq,) in archived] == list(range(1, 11)), "every event archived once, pruned or not"
    assert sql.execute("SELECT id FROM requests").fetchall() == [("new-request",)]
    sql.execute("UPDATE listener_positions SET seq = 10")
    owner_sql.execute("UPDATE events SET at = now() WHERE seq > 8")
    relay, stale = ("relay", 0, bump(sql, "relay", 0, "another relay")), relay
    with pytest.raises(psycopg.Error) as fenced:
        prune(sql, Config(home=Path("/tmp/unused")), stale)
    assert ownership.fenced(fenced.value), "a relay that lost its lease prunes nothing"
    assert len(read_events(sql, 0)) == 6
    assert prune(sql, Config(home=Path("/tmp/unused")), relay) == (4, 0)
    assert [e["seq"] for e in read_events(sql, 0)] == [9, 10]


def test_the_relay_waker_notifies_the_relays_channel_from_its_own_thread_and_session(database):
    with connect(database, autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        waker = RelayWaker(database)
        try:
            waker.wake()
            woken = list(listener.notifies(timeout=5, stop_after=1))
        finally:
            waker.close()
    assert [notify.channel for notify in woken] == [CHANNEL]
    assert not waker.thread.is_alive()


def test_the_relay_waker_makes_one_notify_per_gap_of_a_burst_and_loses_none(database):
    with connect(database, autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        waker = RelayWaker(database)
        try:
            started = time.monotonic()
            while time.monotonic() - started < 20 * GAP_SECONDS:  # asked again as soon as it was taken
                waker.wake()
                wait_for(lambda: not waker.asked.is_set(), 5, "the waker taking the wake-up", interval=0.0005)
            lasted = time.monotonic() - started
            woken = list(listener.notifies(timeout=10 * GAP_SECONDS + 1.0))
            waker.wake()
            again = list(listener.notifies(timeout=5, stop_after=1))
        finally:
            waker.close()
    assert 2 <= len(woken) <= lasted / GAP_SECONDS + 2, "one NOTIFY, then one per gap while asked"
    assert len(again) == 1, "a wake-up after a quiet gap is sent at once"
