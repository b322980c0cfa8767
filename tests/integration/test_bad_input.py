"""No input crashes a shard: every bad request gets invalid_request, and the shard serves on."""

import msgpack
import pytest
import zmq

from monclub import protocol, wire
from monclub.db import connect
from monclub.partition import shard_of
from monclub.reunions import seance as core
from monclub.reunions.shard import seance_shard
from tests.fixtures.postgres import add_membres

VALID = protocol.request("valid-request-0001", "creer", seance="polar", titre="Soirée Polar", places=2, attente=0, tarif=0)


def packed(**fields) -> bytes:
    return msgpack.packb({**protocol.request("bad-request-00001", "inscrire", seance="polar", membre=1), **fields})


BAD = {
    "not msgpack": b"\xc1\xc1\xc1",
    "truncated": packed()[:-3],
    "not a map": msgpack.packb([1, 2, 3]),
    "oversized": msgpack.packb({"v": 1, "pad": "x" * 4000} | {f"k{i}": "x" * 4000 for i in range(20)}),
    "huge array": packed(membre=list(range(5000))),
    "deep nesting": b"\x91" * 5000 + b"\xc0",
    "non-utf8 string": b"\x81\xa2op\xa2\xff\xfe",
    "integer map key": msgpack.packb({1: 2}),
    "wrong type": packed(membre="1"),
    "boolean as integer": packed(membre=True),
    "unknown op": packed(op="detruire"),
    "extra field": packed(extra=1),
    "missing field": msgpack.packb(protocol.request("bad-request-00001", "inscrire", seance="polar")),
    "bad version": packed(v=2),
    "bad request id": packed(id="x"),
    "bad seance id": packed(seance="a b"),
    "trailing newline in an id": packed(seance="polar\n"),
    "trailing newline in a request id": packed(id="bad-request-00001\n"),
    "NUL in a titre": msgpack.packb({**VALID, "titre": "Soirée\x00Polar"}),
    "float version": packed(v=1.0),
    "ext type": msgpack.packb({"v": msgpack.ExtType(5, b"abc")}),
}


@pytest.fixture
def shard_socket(reunions):
    endpoint = reunions.config.endpoint("reunions", shard_of("polar", reunions.config.shards))
    socket = zmq.Context.instance().socket(zmq.DEALER)
    socket.linger = 0
    socket.connect(endpoint)
    yield socket
    socket.close()


def ask(socket, payload: bytes, envelope=(b"",)) -> dict:
    socket.send_multipart([*envelope, payload])
    assert socket.poll(5000), "the shard answers"
    return wire.decode(socket.recv_multipart()[-1])


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_request_gets_invalid_request_and_a_valid_one_then_succeeds(shard_socket, sql, name):
    reply = ask(shard_socket, BAD[name])
    assert reply["ok"] is False and reply["error"]["code"] == "invalid_request"
    assert reply["error"]["message"]
    assert sql.execute("SELECT count(*) FROM requests").fetchone() == (0,)
    assert ask(shard_socket, wire.encode(VALID))["ok"] is True


def test_a_malformed_envelope_is_dropped_and_the_shard_serves_on(shard_socket):
    shard_socket.send_multipart([b"junk", b"more junk", b"payload"])
    assert ask(shard_socket, wire.encode(VALID))["ok"] is True


def test_wrong_types_name_the_field(shard_socket):
    reply = ask(shard_socket, wire.encode({**VALID, "places": "10"}))
    assert "'places'" in reply["error"]["message"]


def test_an_exception_on_one_seance_drops_it_alone_and_answers_internal_error(database, monkeypatch):
    """In-process shard on the real database, with a bug injected into the core for one séance."""
    shard = seance_shard(0, 1, database)
    with connect(database, autocommit=True) as conn:
        a, b = add_membres(conn, 2)
    for seance in ("polar", "manga"):
        shard.handle(protocol.parse_request(protocol.request(f"creer-{seance}-01", "creer", seance=seance,
                                                             titre=seance, places=3, attente=0, tarif=0)))
    real = core.inscrire

    def buggy(state, membre):
        if state.id == "polar":
            raise KeyError("bug")
        return real(state, membre)

    monkeypatch.setattr(core, "inscrire", buggy)
    failed = shard.handle(protocol.parse_request(protocol.request("inscrire-polar-1", "inscrire", seance="polar", membre=a)))
    assert failed["error"]["code"] == "internal_error"
    assert "polar" not in shard.aggregates and "manga" in shard.aggregates
    served = shard.handle(protocol.parse_request(protocol.request("inscrire-manga-1", "inscrire", seance="manga", membre=b)))
    assert served["result"] == {"statut": "inscrit"}
    monkeypatch.setattr(core, "inscrire", real)
    again = shard.handle(protocol.parse_request(protocol.request("inscrire-polar-2", "inscrire", seance="polar", membre=a)))
    assert again["result"] == {"statut": "inscrit"}
    shard.forget_all()
