#!/usr/bin/env python3
"""Register a member for a séance with pyzmq and msgpack only: MonClub's protocol seen from outside.

Usage: raw_inscrire.py SEANCE MEMBRE [--home DIR] [--deadline S]

It asks shard 0 for the directory (the partition count and where each partition's owner listens),
sends the request to the owner of the séance's partition, and follows a `wrong_owner` redirect.

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


def new_request(op: str, **fields) -> dict:
    # Protocol version 1, a new unique id (kept on every resend), the op and its fields.
    return {"v": 1, "id": uuid.uuid4().hex, "op": op, **fields}


def owner_of(context: zmq.Context, first: str, seance: str, deadline: float) -> str:
    """Where the owner of the séance's partition listens, as the directory of shard `first` says
    (the partition function: CRC-32 of the id's UTF-8 bytes, modulo the partition count)."""
    reply = call(context, first, new_request("directory"), deadline)
    if reply is None or not reply["ok"]:
        return first  # no directory: this shard redirects if it does not host the partition
    partition = zlib.crc32(seance.encode("utf-8")) % reply["result"]["partitions"]
    owners = {entry["partition"]: entry["endpoint"] for entry in reply["result"]["owners"]}
    return owners.get(partition, first)


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
    parser.add_argument("--deadline", type=float, default=15.0, help="seconds before giving up (default 15)")
    args = parser.parse_args()
    request = new_request("inscrire", seance=args.seance, membre=args.membre)
    first = f"ipc://{os.path.abspath(args.home)}/run/reunions-0.sock"
    context = zmq.Context()
    try:
        where = owner_of(context, first, args.seance, args.deadline)
        reply = call(context, where, request, args.deadline)
        for _ in range(8):  # a partition that moved: go where the redirect says, same request id
            if reply is None or reply["ok"] or reply["error"]["code"] != "wrong_owner" or not reply["error"]["owner"]:
                break
            where = reply["error"]["owner"]["endpoint"]
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
