"""The one codec of MonClub: msgpack maps on the wire, with hard limits.

Everything that turns bytes into Python values (and back) for a socket goes through here, so the
limits live in one place. A decode error keeps a preview of the bad bytes for the logs, and its
message says which limit or rule the bytes broke, in one line.
"""

import msgpack

from monclub.errors import InvalidRequest

MAX_MESSAGE_BYTES = 64 * 1024
# msgpack's unpacker keeps its containers on a fixed stack of this many levels (StackError past it).
MAX_DEPTH = 1024
_LIMITS = dict(max_str_len=4096, max_bin_len=4096, max_array_len=1024, max_map_len=64, max_ext_len=0)
# Events on the bus may name every member of a cancelled séance: larger arrays, same other caps.
BUS_MESSAGE_BYTES = 4 * 1024 * 1024
BUS_LIMITS = dict(_LIMITS, max_array_len=200_000)


class DecodeError(InvalidRequest):
    def __init__(self, message: str, data: bytes):
        super().__init__(message)
        self.preview = bytes(data[:32])


class _Refused(ValueError):
    """Bytes that msgpack reads but MonClub refuses."""


# A key's msgpack type, as the refusal names it (bool before int: a bool is an int in Python).
_KEY_TYPES = (
    (bool, "a bool"),
    (int, "an int"),
    (float, "a float"),
    (bytes, "a bin"),
    (list, "an array"),
    (dict, "a map"),
)


def _key_type(key) -> str:
    if key is None:
        return "a nil"
    return next((name for kind, name in _KEY_TYPES if isinstance(key, kind)), f"a {type(key).__name__}")


def _string_keys(pairs: list[tuple]) -> dict:
    """A map's (key, value) pairs as msgpack read them, a dict if every key is a str. Read as pairs,
    with msgpack's own `strict_map_key` off (its text names Python types), so that a key of any
    other type, an array or a map included (no dict can hold those), gets this one refusal."""
    for key, _ in pairs:
        if type(key) is not str:
            raise _Refused(f"map keys must be str, got {_key_type(key)} key")
    return dict(pairs)


def _no_ext(code: int, data: bytes):
    raise _Refused(f"ext type {code} is not allowed")


def _reason(error: Exception) -> str:
    if isinstance(error, msgpack.StackError):
        return f"nested deeper than {MAX_DEPTH} levels"
    if isinstance(error, msgpack.ExtraData):
        return "trailing bytes after the first msgpack value"
    if isinstance(error, UnicodeDecodeError):
        return f"a str is not valid UTF-8 ({error.reason} at byte {error.start})"
    if isinstance(error, _Refused):
        return str(error)
    return f"not valid msgpack within the limits: {error}"


# One packer for the process: msgpack.packb makes a new one for every message, as much CPU again as
# packing a reply. Its pack runs in C under the GIL from start to end (no `default` hook, and it
# resets its buffer on a failure), so the threads of a process may share it.
_PACKER = msgpack.Packer(use_bin_type=True)


def encode(value) -> bytes:
    return _PACKER.pack(value)


def decode(data: bytes, max_bytes: int = MAX_MESSAGE_BYTES, limits: dict = _LIMITS) -> dict:
    """Bytes to a map with string keys (at every level), or DecodeError; never anything else."""
    if len(data) > max_bytes:
        raise DecodeError(f"message of {len(data)} bytes exceeds {max_bytes}", data)
    try:
        value = msgpack.unpackb(
            data, raw=False, strict_map_key=False, object_pairs_hook=_string_keys, ext_hook=_no_ext, **limits
        )
    except (ValueError, TypeError) as error:
        raise DecodeError(_reason(error), data) from None
    if not isinstance(value, dict):
        raise DecodeError(f"a message must be a msgpack map, got {type(value).__name__}", data)
    return value
