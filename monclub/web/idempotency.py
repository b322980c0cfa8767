"""Exactly once over HTTP: an Idempotency-Key becomes a request id of its own namespace, and the
first request sent with it is remembered by its fingerprint (docs/http.md, Idempotency).

A shard command needs only the fingerprint here: the key's request id is what the shards already
store with the reply, so the same key sent again gets that reply and is never applied twice. A
command the web program applies to PostgreSQL itself runs in one transaction with the claim of
its key and the store of its reply (`once`).
"""

import hashlib
import json
import re
from collections.abc import Callable

import psycopg
from psycopg.types.json import Jsonb

from monclub.errors import InvalidRequest
from monclub.web.problems import Problem

PREFIX = "http:"
_KEY = re.compile(r"[\x21-\x7e]{8,100}")
RULE = "must be 8 to 100 printable ASCII characters without spaces (a UUID fits)"


def checked_key(value: str | None) -> str | None:
    if value is not None and not _KEY.fullmatch(value):
        raise InvalidRequest(f"Idempotency-Key {RULE}")
    return value


def request_id(key: str) -> str:
    """The key's request id, apart from every other client's ids (theirs are bare uuid hex)."""
    return PREFIX + key


def fingerprint(method: str, path: str, body: dict) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def claim(conn: psycopg.Connection, key: str, print_: str) -> dict | None:
    """Take `key` for this request; the stored {status, reply} when it was answered before, None
    when it is new or still unanswered. Problem idempotency_key_reused when it came with another request."""
    conn.execute("INSERT INTO web_requests (key, fingerprint) VALUES (%s, %s) ON CONFLICT DO NOTHING", (key, print_))
    row = conn.execute("SELECT fingerprint, status, reply FROM web_requests WHERE key = %s", (key,)).fetchone()
    if row is None or row[0] != print_:
        reused = "this Idempotency-Key was sent before with another method, path or body: use a new key"
        raise Problem("idempotency_key_reused", reused)
    return None if row[1] is None else {"status": row[1], "reply": row[2]}


def once(
    conn: psycopg.Connection,
    key: str | None,
    print_: str | None,
    status: int,
    action: Callable[[psycopg.Connection], dict],
) -> dict:
    """`action(conn)` applied once per key, its reply stored with the claim in one transaction:
    {"status", "reply"} (the stored one when the key was answered before)."""
    with conn.transaction():
        stored = claim(conn, key, print_) if key and print_ else None
        if stored is not None:
            return stored
        reply = action(conn)
        if key:
            conn.execute("UPDATE web_requests SET status = %s, reply = %s WHERE key = %s", (status, Jsonb(reply), key))
    return {"status": status, "reply": reply}


def prune(conn: psycopg.Connection, seconds: float) -> int:
    """Forget the keys older than the stored replies of the shards (retention.requests_seconds)."""
    return conn.execute(
        "DELETE FROM web_requests WHERE cree_le < now() - make_interval(secs => %s)", (seconds,)
    ).rowcount
