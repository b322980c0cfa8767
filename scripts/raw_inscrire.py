#!/usr/bin/env python3
"""Register a member for a séance with pyzmq and msgpack only: MonClub's protocol seen from outside.

Usage: raw_inscrire.py SEANCE MEMBRE [--home DIR] [--shards N] [--deadline S]

It prints the reply map as JSON and exits 0 when the registration is done (inscrit or en_attente),
1 on a refusal (deja_inscrit, seance_complete, ...), 2 when no final answer came before the
deadline. docs/protocol.md is the reference.
"""

import argparse
import json
import os
import random
import sys
import time
import uuid
import zlib
from pathlib import Path

import msgpack
import zmq

CHECKOUT = Path(__file__).resolve().parents[1]
ATTEMPT_TIMEOUT = 1.5  # seconds to wait for one reply before resending on a new socket


def endpoint(home: str, seance: str, shards: int) -> str:
    # The partition function: CRC-32 of the séance id's UTF-8 bytes, modulo the number of shards
    # (fixed when the database was created: a wrong N gets the refusal wrong_shard).
    shard = zlib.crc32(seance.encode("utf-8")) % shards
    return f"ipc://{home}/run/reunions-{shard}.sock"


def call(context: zmq.Context, where: str, request: dict, deadline: float) -> dict | None:
    """Lazy Pirate: send the same bytes (the same request id) until a final reply or the deadline.
    The shard stores the outcome under the id, so a resend is never applied twice."""
    payload = msgpack.packb(request, use_bin_type=True)  # str as msgpack str, never bin
    give_up = time.monotonic() + deadline
    for attempt in range(1000):  # bounded; the deadline ends it long before
        socket = context.socket(zmq.REQ)  # REQ adds the empty delimiter frame the ROUTER expects
        socket.linger = 0
        socket.connect(where)
        socket.send(payload)
        wait = min(ATTEMPT_TIMEOUT, max(give_up - time.monotonic(), 0.01))
        reply = msgpack.unpackb(socket.recv(), raw=False) if socket.poll(int(wait * 1000)) else None
        socket.close(linger=0)  # a REQ socket that missed its reply cannot send again: use a new one
        if reply is not None and (reply["ok"] or reply["error"]["code"] != "unavailable"):
            return reply  # a success or a refusal is final
        # No reply (outcome unknown) or unavailable (nothing committed): back off, resend the same id.
        pause = min(0.5, 0.02 * 2**attempt) * random.uniform(0.5, 1.5)
        if time.monotonic() + pause >= give_up:
            break
        print(
            f"attempt {attempt + 1}: {'no reply' if reply is None else 'unavailable'}; resending "
            f"request {request['id']}",
            file=sys.stderr,
        )
        time.sleep(pause)
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("seance")
    parser.add_argument("membre", type=int)
    parser.add_argument(
        "--home",
        default=os.environ.get("MONCLUB_HOME") or str(CHECKOUT / ".monclub"),
        help="MonClub's state directory (default: $MONCLUB_HOME, else .monclub in the checkout)",
    )
    parser.add_argument(
        "--shards",
        type=int,
        default=int(os.environ.get("MONCLUB_SHARDS") or 4),
        help="number of shards (default: $MONCLUB_SHARDS, else 4)",
    )
    parser.add_argument("--deadline", type=float, default=15.0, help="seconds before giving up (default 15)")
    args = parser.parse_args()
    if args.shards < 1:
        parser.error("--shards must be 1 or more")
    # One request: protocol version 1, a new unique id (kept on every resend), the op and its fields.
    request = {"v": 1, "id": uuid.uuid4().hex, "op": "inscrire", "seance": args.seance, "membre": args.membre}
    where = endpoint(os.path.abspath(args.home), args.seance, args.shards)
    context = zmq.Context()
    try:
        reply = call(context, where, request, args.deadline)
    finally:
        context.destroy(linger=0)  # closes any socket left open (Ctrl-C during an attempt)
    if reply is None:
        print(
            f"error: no final answer from {where} within {args.deadline:.0f}s for request {request['id']}: "
            "is MonClub running? (the outcome may be unknown: resend this id to learn it)",
            file=sys.stderr,
        )
        return 2
    print(json.dumps(reply, ensure_ascii=False))
    return 0 if reply["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
