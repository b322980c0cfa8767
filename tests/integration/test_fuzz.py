"""Random hostile input at live processes. A shard stays up (same pid), answers every well-enveloped
payload (invalid_request unless the payload happens to be a real request), writes no row for what it
refuses, and serves valid requests correctly afterwards. The listeners survive garbage on the bus,
write nothing for it, and still apply real events."""

import itertools
import subprocess
import sys
import time

import pytest
import zmq
from hypothesis import given

from monclub import config as configuration
from monclub.contract import protocol
from monclub.db import connect
from monclub.db.outbox import append_events, read_events
from monclub.events.bus import endpoints
from monclub.wire import codec as wire
from tests.fixtures.garbage import FUZZ, bus_frames, envelopes
from tests.fixtures.lines import Lines
from tests.fixtures.postgres import add_membres
from tests.fixtures.processes import monclub_env
from tests.fixtures.waiting import wait_for

TABLES = ("requests", "seances", "inscriptions", "events")


def row_counts(conn) -> dict[str, int]:
    return {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in TABLES}


def test_a_shard_survives_random_input_and_writes_nothing_it_refused(start_reunions, database):
    reunions = start_reunions(shards=1)
    pid = reunions.shard_pids()[0]
    with zmq.Context.instance().socket(zmq.DEALER) as socket:
        socket.linger = 0
        socket.connect(reunions.config.endpoint("reunions", 0))
        pings = (f"fuzz-ping-{n:08d}" for n in itertools.count())
        seen = {"answered": 0, "refused": 0}
        with connect(database, autocommit=True) as sql:
            add_membres(sql, 3)

        def replies_until(ping_id: str) -> list[dict]:
            """Every reply before the ping's: the shard answers in arrival order, one at a time."""
            socket.send_multipart([b"", wire.encode(protocol.request(ping_id, "ping"))])
            replies = []
            while True:
                assert socket.poll(5000), "the shard still answers"
                reply = wire.decode(socket.recv_multipart()[-1])
                if reply["id"] == ping_id:
                    return replies
                replies.append(reply)

        with connect(database, autocommit=True) as sql:

            @FUZZ
            @given(frames=envelopes)
            def fire(frames):
                before = row_counts(sql)
                socket.send_multipart(frames)
                replies = replies_until(next(pings))
                assert len(replies) <= 1
                assert not any(r["ok"] is False and r["error"]["code"] == "internal_error" for r in replies), replies
                seen["answered"] += len(replies)
                if all(r["ok"] is False and r["error"]["code"] == "invalid_request" for r in replies):
                    seen["refused"] += len(replies)
                    assert row_counts(sql) == before, f"a refused request wrote rows: {replies}"

            fire()
            print(seen)
            assert seen["refused"] > 100, seen
            assert reunions.shard_pids()[0] == pid
            assert seen["answered"] > seen["refused"], "some fuzzed requests were valid and reached the database"
            (membre,) = add_membres(sql, 1)
            with reunions.client() as client:
                assert client.creer("apres-fuzz", "Après", places=1)["seance"]["places_restantes"] == 1
                assert client.inscrire("apres-fuzz", membre) == {"statut": "inscrit"}
                assert client.ping(0)["pid"] == pid
            inscrits = sql.execute("SELECT membre_id FROM inscriptions WHERE seance_id = 'apres-fuzz'").fetchall()
            assert inscrits == [(membre,)]


def start_program(module: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", module], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def wait_line(lines: Lines, text: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while text not in lines.next(max(deadline - time.monotonic(), 0.01)):
        pass


@pytest.mark.daemon  # the bus and both listeners, started here
def test_listeners_survive_garbage_on_the_bus_and_apply_only_real_events(database, state_dir):
    """The real bus and both listener processes; the test publishes on the bus like the relay."""
    env = monclub_env(state_dir, database, 1)
    config = configuration.load(env)
    bus = start_program("monclub.events.bus", env)
    publisher = zmq.Context.instance().socket(zmq.PUB)
    publisher.linger = 0
    listeners = []
    try:
        wait_for(lambda: (config.run_dir / "bus-in.sock").exists(), 10, "the bus to bind")
        listeners = [
            start_program(module, env) for module in ("monclub.events.paiements", "monclub.events.notifications")
        ]
        outputs = [Lines(listener) for listener in listeners]
        publisher.connect(endpoints(config)[0])

        def published_and_seen(sentinel: bytes, text: str) -> None:
            """Publish until each listener logs dropping the sentinel: every message before it on
            the bus has then been through its decode and apply path (one SUB socket keeps order)."""
            for output in outputs:

                def seen(output=output):
                    publisher.send_multipart([b"event", sentinel])
                    try:
                        wait_line(output, text, timeout=0.2)
                        return True
                    except AssertionError:
                        return False

                wait_for(seen, 20, f"a listener to drop {text!r}")

        published_and_seen(b"\x81\xa1v\xc7\x00\x4d", "ext type 77")
        pids = [listener.pid for listener in listeners]

        @FUZZ
        @given(frames=bus_frames)
        def publish(frames):
            publisher.send_multipart(frames)

        publish()
        published_and_seen(b"\x81\xa1v\xc7\x00\x4e", "ext type 78")
        assert [listener.poll() for listener in listeners] == [None, None]
        assert [listener.pid for listener in listeners] == pids
        with connect(database, autocommit=True) as sql:
            assert [
                sql.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("paiements", "notifications", "events")
            ] == [0, 0, 0]
            assert sql.execute("SELECT max(seq) FROM listener_positions").fetchone() == (0,)
            (membre,) = add_membres(sql, 1)
            sql.execute(
                "INSERT INTO seances (id, titre, places, attente_max, tarif) VALUES ('polar', 'Polar', 2, 0, 800)"
            )
            with sql.transaction():
                append_events(
                    sql,
                    [
                        (
                            "membre_inscrit",
                            "seance/polar",
                            {"seance": "polar", "membre": membre, "titre": "Polar", "tarif": 800},
                        )
                    ],
                )
            (event,) = read_events(sql, 0)
            publisher.send_multipart([b"event", wire.encode(event)])
            wait_for(
                lambda: (
                    sql.execute("SELECT count(*) FROM paiements").fetchone() == (1,)
                    and sql.execute("SELECT count(*) FROM notifications").fetchone() == (1,)
                ),
                10,
                "the listeners to apply the real event",
            )
            assert sql.execute("SELECT membre_id, montant FROM paiements").fetchall() == [(membre, 800)]
    finally:
        publisher.close()
        for process in [*listeners, bus]:
            process.terminate()
            process.wait(timeout=20)
            process.stdout.close()
