"""Random hostile input at a live shard process: it stays up (same pid), answers every well-enveloped
payload (invalid_request unless the payload happens to be a real request), writes no row for what it
refuses, and serves valid requests correctly afterwards."""

import itertools

import zmq
from hypothesis import given

from monclub import protocol, wire
from monclub.db import connect
from tests.fixtures.garbage import FUZZ, envelopes
from tests.fixtures.postgres import add_membres

TABLES = ("requests", "seances", "inscriptions", "events")


def row_counts(conn) -> dict[str, int]:
    return {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in TABLES}


def test_a_shard_survives_random_input_and_writes_nothing_it_refused(start_reunions, database):
    reunions = start_reunions(shards=1)
    pid = reunions.shard_pids()[0]
    socket = zmq.Context.instance().socket(zmq.DEALER)
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
        membre, = add_membres(sql, 1)
        with reunions.client() as client:
            assert client.creer("apres-fuzz", "Après", places=1)["seance"]["places_restantes"] == 1
            assert client.inscrire("apres-fuzz", membre) == {"statut": "inscrit"}
            assert client.ping(0)["pid"] == pid
        assert sql.execute("SELECT membre_id FROM inscriptions WHERE seance_id = 'apres-fuzz'").fetchall() == [(membre,)]
    socket.close()
