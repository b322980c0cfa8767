#!/usr/bin/env python3
"""Print MonClub's domain events live from the bus, with pyzmq and msgpack only.

Usage: raw_tail.py [--home DIR] [--count N] [--heartbeats] [--timeout S]

One line per event: `seq type aggregate payload-json`; with --heartbeats, also
`heartbeat seq=<latest committed seq>` (the relay sends one every 0.5 s while idle). It stops after
N events with --count, or after S seconds with --timeout (exit 1 if N events did not come).

The bus keeps nothing: this subscriber sees only what is published while it is connected, and
silently loses what a full queue drops. It notices a hole in `seq` and says so, but cannot fetch
the missing events: the listeners (Paiements, Notifications) read them from PostgreSQL's outbox,
and so does `monclub events tail`. docs/events.md is the reference.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import msgpack
import zmq

CHECKOUT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--home",
        default=os.environ.get("MONCLUB_HOME") or str(CHECKOUT / ".monclub"),
        help="MonClub's state directory (default: $MONCLUB_HOME, else .monclub in the checkout)",
    )
    parser.add_argument("--count", type=int, default=None, help="stop after this many events")
    parser.add_argument("--heartbeats", action="store_true", help="print the heartbeats too")
    parser.add_argument("--timeout", type=float, default=None, help="stop after this many seconds")
    args = parser.parse_args()

    context = zmq.Context()
    sub = context.socket(zmq.SUB)
    sub.linger = 0
    # ZeroMQ subscriptions match topic prefixes. They travel to the publisher in this order, so a
    # first heartbeat received also proves that the "event" subscription is in place.
    sub.subscribe(b"event")
    if args.heartbeats:
        sub.subscribe(b"heartbeat")
    sub.connect(f"ipc://{os.path.abspath(args.home)}/run/bus-out.sock")  # the bus's XPUB side

    stop_at = None if args.timeout is None else time.monotonic() + args.timeout
    seen, last = 0, None  # events printed; the highest seq received
    try:
        while args.count is None or seen < args.count:
            left = 1.0 if stop_at is None else min(1.0, stop_at - time.monotonic())
            if left <= 0:
                print(f"stopped after {args.timeout:.0f}s: {seen} events", file=sys.stderr)
                return 1 if args.count is not None else 0
            if not sub.poll(int(left * 1000)):  # wake up every second at least, so Ctrl-C works
                continue
            frames = sub.recv_multipart()
            if len(frames) != 2:
                continue  # a bus message is exactly [topic, msgpack map]
            topic, body = frames
            message = msgpack.unpackb(body, raw=False, max_array_len=200_000, max_ext_len=0)
            if topic == b"heartbeat":
                print(f"heartbeat seq={message['seq']}", flush=True)
                continue
            seq = message["seq"]
            if last is not None and seq > last + 1:
                print(
                    f"gap: missed events {last + 1} to {seq - 1} (the bus keeps nothing; "
                    "they are in PostgreSQL's events table)",
                    flush=True,
                )
            last = seq if last is None else max(last, seq)
            payload = json.dumps(message["payload"], ensure_ascii=False, sort_keys=True)
            print(f"{seq} {message['type']} {message['aggregate']} {payload}", flush=True)
            seen += 1
    except KeyboardInterrupt:
        pass
    finally:
        context.destroy(linger=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
