"""Exactly once over HTTP: an Idempotency-Key is the request id of its command (docs/http.md,
Idempotency), in a namespace of its own.

Nothing more is needed: the shards and the accueil store each reply under its request id with the
request's fingerprint, so the same key sent again gets the stored reply and is never applied twice,
and the same key sent with another request is refused (`request_id_reused`, answered as
422 idempotency_key_reused).
"""

import re

from monclub.errors import InvalidRequest

PREFIX = "http:"
_KEY = re.compile(r"[\x21-\x7e]{8,100}")
RULE = "must be 8 to 100 printable ASCII characters without spaces (a UUID fits)"


def checked_key(value: str | None) -> str | None:
    if value is not None and not _KEY.fullmatch(value):
        raise InvalidRequest(f"Idempotency-Key {RULE}")
    return value


def request_id(key: str | None) -> str | None:
    """The key's request id, apart from every other client's ids (theirs are bare uuid hex); None
    without a key (the client then makes a fresh one)."""
    return None if key is None else PREFIX + key
