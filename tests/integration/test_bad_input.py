"""No input crashes a shard: every bad request gets invalid_request, and the shard serves on."""

import msgpack
import pytest
import zmq

from monclub.contract import protocol
from monclub.db import connect
from monclub.errors import InvalidRequest
from monclub.prets.ops import OPS as LIVRE_OPS
from monclub.reunions import seance as core
from monclub.reunions.ops import OPS
from monclub.reunions.shard import seance_owner
from monclub.wire import codec as wire
from tests.fixtures.postgres import add_membres
from tests.fixtures.processes import home_shard

VALID = protocol.request(
    "valid-request-0001", "creer", seance="polar", titre="Soirée Polar", places=2, attente=0, tarif=0
)


def packed(**fields) -> bytes:
    return msgpack.packb({**protocol.request("bad-request-00001", "inscrire", seance="polar", membre=1), **fields})


def nested(depth: int, leaf=None):
    for _ in range(depth):
        leaf = [leaf]
    return leaf


# name -> (payload, what the one-line message must say: the field, or the limit that was broken)
BAD = {
    "not msgpack": (b"\xc1\xc1\xc1", "msgpack"),
    "empty payload": (b"", "incomplete input"),
    "truncated": (packed()[:-3], "incomplete input"),
    "trailing bytes": (packed() + b"\xc0", "trailing bytes"),
    "not a map": (msgpack.packb([1, 2, 3]), "must be a msgpack map"),
    "oversized": (
        msgpack.packb({"v": 1, "pad": "x" * 4000} | {f"k{i}": "x" * 4000 for i in range(20)}),
        f"exceeds {wire.MAX_MESSAGE_BYTES}",
    ),
    "huge array": (packed(membre=list(range(5000))), "max_array_len"),
    "huge map": (msgpack.packb({f"k{i}": i for i in range(100)}), "max_map_len"),
    "long str": (packed(seance="x" * 5000), "max_str_len"),
    "long bin": (packed(seance=b"x" * 5000), "max_bin_len"),
    "deep nesting": (b"\x91" * 5000 + b"\xc0", "nested deeper"),
    "deep nesting of maps": (b"\x81\xa1a" * 2000 + b"\xc0", "nested deeper"),
    "nesting within the stack, where an integer is expected": (packed(membre=nested(1000)), "'membre'"),
    "non-utf8 string": (b"\x81\xa2op\xa2\xff\xfe", "UTF-8"),
    "utf-8 encoded surrogate": (b"\x81\xa2op\xa3\xed\xa0\x80", "UTF-8"),
    "integer map key": (msgpack.packb({1: 2}), "map keys must be str, got an int key"),
    "nil map key": (msgpack.packb({**VALID, None: 1}), "map keys must be str, got a nil key"),
    "float map key": (msgpack.packb({**VALID, 1.5: 1}), "map keys must be str, got a float key"),
    "bin map key": (
        msgpack.packb({**protocol.request("bad-request-00001", "ping"), b"op": "ping"}),
        "map keys must be str, got a bin key",
    ),
    "integer key in a nested map": (packed(membre={1: 2}), "map keys must be str, got an int key"),
    "wrong type": (packed(membre="1"), "'membre'"),
    "boolean as integer": (packed(membre=True), "'membre'"),
    "float as integer": (packed(membre=1.0), "'membre'"),
    "NaN as integer": (packed(membre=float("nan")), "'membre'"),
    "nil as integer": (packed(membre=None), "'membre'"),
    "negative integer": (packed(membre=-1), "'membre'"),
    "integer beyond 63 bits": (packed(membre=2**64 - 1), "'membre'"),
    "bin as str": (packed(seance=b"polar"), "'seance'"),
    "unknown op": (packed(op="detruire"), "'op'"),
    "array as op": (packed(op=["inscrire"]), "'op'"),
    "map as op": (packed(op={"a": 1}), "'op'"),
    "extra field": (packed(extra=1), "'extra'"),
    "missing field": (msgpack.packb(protocol.request("bad-request-00001", "inscrire", seance="polar")), "'membre'"),
    "bad version": (packed(v=2), "'v'"),
    "bad request id": (packed(id="x"), "'id'"),
    "integer request id": (packed(id=12345678), "'id'"),
    "bad seance id": (packed(seance="a b"), "'seance'"),
    "trailing newline in an id": (packed(seance="polar\n"), "'seance'"),
    "trailing newline in a request id": (packed(id="bad-request-00001\n"), "'id'"),
    "NUL in a titre": (msgpack.packb({**VALID, "titre": "Soirée\x00Polar"}), "'titre'"),
    "titre too long": (msgpack.packb({**VALID, "titre": "x" * 201}), "'titre'"),
    "places beyond the maximum": (msgpack.packb({**VALID, "places": protocol.MAX_COUNT + 1}), "'places'"),
    "places as a str": (msgpack.packb({**VALID, "places": "10"}), "'places'"),
    "date-time without offset": (msgpack.packb({**VALID, "quand": "2026-12-10T19:00:00"}), "'quand' must be an RFC"),
    "date without time": (
        msgpack.packb(protocol.request("bad-request-00001", "deplacer", seance="polar", quand="2026-12-10")),
        "'quand'",
    ),
    "quand as epoch seconds": (msgpack.packb({**VALID, "quand": 1765393200}), "'quand'"),
    "float version": (packed(v=1.0), "'v'"),
    "ext type": (msgpack.packb({"v": msgpack.ExtType(5, b"abc")}), "max_ext_len"),
    "zero-length ext type": (b"\x81\xa1v\xc7\x00\x05", "ext type 5"),
    "timestamp": (packed(membre=msgpack.Timestamp(1, 0)), "max_ext_len"),
}


@pytest.fixture
def shard_socket(reunions):
    endpoint = reunions.config.endpoint("reunions", home_shard(reunions.config, "polar"))
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
    payload, says = BAD[name]
    reply = ask(shard_socket, payload)
    assert reply["ok"] is False and reply["error"]["code"] == "invalid_request"
    assert says in reply["error"]["message"] and "\n" not in reply["error"]["message"]
    assert sql.execute("SELECT count(*) FROM requests").fetchone() == (0,)
    assert ask(shard_socket, wire.encode(VALID))["ok"] is True


def test_int_nil_float_and_bin_map_keys_get_one_code_and_the_documented_message(shard_socket):
    """docs/protocol.md §13: `map keys must be str, got <its msgpack type> key`, never msgpack's own
    text (which named Python types, `NoneType`, for all but bin keys)."""
    for key, kind in ((1, "an int"), (None, "a nil"), (1.5, "a float"), (b"op", "a bin")):
        reply = ask(shard_socket, msgpack.packb({**VALID, key: 1}, use_bin_type=True))
        assert reply["id"] is None and reply["error"] == {
            "code": "invalid_request",
            "message": f"map keys must be str, got {kind} key",
        }


def test_a_refusal_names_the_request_id_when_it_could_be_read(shard_socket):
    assert ask(shard_socket, packed(membre="1"))["id"] == "bad-request-00001"
    assert ask(shard_socket, BAD["non-utf8 string"][0])["id"] is None


def test_a_single_empty_frame_from_a_dealer_is_an_empty_payload(shard_socket):
    """docs/protocol.md §1: answered invalid_request, id null."""
    reply = ask(shard_socket, b"", envelope=())
    assert reply["error"]["code"] == "invalid_request" and reply["id"] is None


def test_an_op_both_shard_kinds_share_names_the_field_it_does_not_take():
    """docs/protocol.md §11: `etat` with a `seance` field, as a Prêts shard parses it."""
    with pytest.raises(InvalidRequest, match="op 'etat' takes no field 'seance'"):
        LIVRE_OPS.parse(protocol.request("etat-polar-00001", "etat", seance="polar"))
    with pytest.raises(InvalidRequest, match="op 'etat' takes no field 'livre'"):
        OPS.parse(protocol.request("etat-livre-00001", "etat", livre="dune"))


def test_a_malformed_envelope_is_dropped_and_the_shard_serves_on(shard_socket):
    shard_socket.send_multipart([b"junk", b"more junk", b"payload"])
    assert ask(shard_socket, wire.encode(VALID))["ok"] is True


def test_an_exception_on_one_seance_drops_it_alone_and_answers_internal_error(database, monkeypatch):
    """In-process shard on the real database, with a bug injected into the core for one séance."""
    shard = seance_owner(0, database)
    with connect(database, autocommit=True) as conn:
        a, b = add_membres(conn, 2)
    for seance in ("polar", "manga"):
        shard.handle(
            OPS.parse(
                protocol.request(
                    f"creer-{seance}-01", "creer", seance=seance, titre=seance, places=3, attente=0, tarif=0
                )
            )
        )
    real = core.inscrire

    def buggy(state, membre):
        if state.id == "polar":
            raise KeyError("bug")
        return real(state, membre)

    monkeypatch.setattr(core, "inscrire", buggy)
    failed = shard.handle(OPS.parse(protocol.request("inscrire-polar-1", "inscrire", seance="polar", membre=a)))
    assert failed["error"]["code"] == "internal_error"
    assert "polar" not in shard.memory.aggregates and "manga" in shard.memory.aggregates
    served = shard.handle(OPS.parse(protocol.request("inscrire-manga-1", "inscrire", seance="manga", membre=b)))
    assert served["result"] == {"statut": "inscrit"}
    monkeypatch.setattr(core, "inscrire", real)
    again = shard.handle(OPS.parse(protocol.request("inscrire-polar-2", "inscrire", seance="polar", membre=a)))
    assert again["result"] == {"statut": "inscrit"}
    shard.lease.forget()
