"""The one codec of MonClub: msgpack maps on the wire, with hard limits.

Everything that turns bytes into Python values (and back) for a socket goes through here, so the
limits live in one place. A decode error keeps a preview of the bad bytes for the logs.
"""

import msgpack

from monclub.errors import InvalidRequest

MAX_MESSAGE_BYTES = 64 * 1024
_LIMITS = dict(max_str_len=4096, max_bin_len=4096, max_array_len=1024, max_map_len=64, max_ext_len=0)
# Events on the bus may name every member of a cancelled séance: larger arrays, same other caps.
BUS_MESSAGE_BYTES = 4 * 1024 * 1024
BUS_LIMITS = dict(_LIMITS, max_array_len=200_000)


class DecodeError(InvalidRequest):
    def __init__(self, message: str, data: bytes):
        super().__init__(message)
        self.preview = bytes(data[:32])


def encode(value) -> bytes:
    return msgpack.packb(value, use_bin_type=True)


def decode(data: bytes, max_bytes: int = MAX_MESSAGE_BYTES, limits: dict = _LIMITS) -> dict:
    """Bytes to a map with string keys, or DecodeError; never anything else."""
    if len(data) > max_bytes:
        raise DecodeError(f"message of {len(data)} bytes exceeds {max_bytes}", data)
    try:
        value = msgpack.unpackb(data, raw=False, strict_map_key=True, **limits)
    except (ValueError, TypeError) as error:
        raise DecodeError(f"not a valid msgpack message: {type(error).__name__} {error}".strip(), data)
    if not isinstance(value, dict):
        raise DecodeError(f"a message must be a msgpack map, got {type(value).__name__}", data)
    return value
