"""The codec's refusal of map keys that are not str (docs/protocol.md, sections 3 and 13): one code
and one message, whatever the key's msgpack type, in the request map or in a map nested in it."""

from types import SimpleNamespace

import msgpack
import pytest

from monclub.contract import protocol
from monclub.reunions.ops import OPS
from monclub.shards.server import parse
from monclub.wire import codec as wire

REQUEST = protocol.request("keys-request-0001", "inscrire", seance="polar", membre=1)
SHARD = SimpleNamespace(domain=SimpleNamespace(ops=OPS))

# name -> (a key of that msgpack type, how the message names the type)
KEYS = {
    "int": (1, "an int"),
    "nil": (None, "a nil"),
    "float": (1.5, "a float"),
    "bin": (b"op", "a bin"),
    "bool": (True, "a bool"),
    "array": ([1], "an array"),
    "map": ({"a": 1}, "a map"),
}


def with_key(key, nested: bool = False) -> bytes:
    """The request with one more entry under `key` (in a map under `seance` when nested); packed
    from pairs, since a dict cannot hold an array or a map as a key."""
    packer = msgpack.Packer(use_bin_type=True)
    if not nested:
        return packer.pack_map_pairs([*REQUEST.items(), (key, "x")])
    inner = msgpack.Packer(use_bin_type=True).pack_map_pairs([("a", 1), (key, "x")])
    head = packer.pack_map_pairs([(k, v) for k, v in REQUEST.items() if k != "seance"])
    return bytes([head[0] + 1]) + head[1:] + packer.pack("seance") + inner


@pytest.mark.parametrize("nested", [False, True], ids=["top level", "nested map"])
@pytest.mark.parametrize("name", sorted(KEYS))
def test_a_map_key_of_any_type_but_str_gets_the_documented_refusal(name, nested):
    key, kind = KEYS[name]
    payload = with_key(key, nested)
    with pytest.raises(wire.DecodeError) as refused:
        wire.decode(payload)
    message = f"map keys must be str, got {kind} key"
    assert refused.value.message == message
    assert parse(SHARD, payload) == {
        "v": 1,
        "id": None,
        "ok": False,
        "error": {"code": "invalid_request", "message": message},
    }


def test_int_nil_float_and_bin_keys_get_one_code_and_one_sentence():
    """Not msgpack's own `strict_map_key` text, which named Python types for all but bin keys."""
    replies = [parse(SHARD, with_key(KEYS[name][0])) for name in ("int", "nil", "float", "bin")]
    assert {reply["error"]["code"] for reply in replies} == {"invalid_request"}
    messages = [reply["error"]["message"] for reply in replies]
    assert messages == [
        "map keys must be str, got an int key",
        "map keys must be str, got a nil key",
        "map keys must be str, got a float key",
        "map keys must be str, got a bin key",
    ]
    assert not any("strict_map_key" in message or "NoneType" in message for message in messages)


def test_str_keys_at_every_depth_decode_as_before():
    value = {"v": 1, "a": {"b": [1, {"c": None}]}, "d": {}}
    assert wire.decode(wire.encode(value)) == value
    assert wire.decode(wire.encode(REQUEST), wire.BUS_MESSAGE_BYTES, wire.BUS_LIMITS) == REQUEST
