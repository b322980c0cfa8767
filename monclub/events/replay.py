"""The replay program: the bus's snapshot socket (the Clone pattern of the ZeroMQ guide), a
ROUTER beside the PUB that answers "the events from seq N" from PostgreSQL, one bounded page at a
time, so that a subscriber in any language fills a gap it found in the seq numbers
(docs/protocol.md, section 15). ipc by default; tcp at `[reunions] tcp`'s port + 201, with
CurveZMQ as the shards."""

import sys
from functools import partial
from types import SimpleNamespace

import psycopg

from monclub.contract import protocol
from monclub.db.outbox import latest_seq, read_events
from monclub.errors import InvalidField
from monclub.shards.service import Service, main
from monclub.supervision import program
from monclub.wire import codec as wire

NAME = "replay"
PAGE_EVENTS = 1000
PAGE_BYTES = 256 * 1024


def limite(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= PAGE_EVENTS:
        raise InvalidField(name, f"must be an integer from 1 to {PAGE_EVENTS}")
    return value


OPS = protocol.ops(
    "replay", protocol.query("events", {"depuis": protocol.row_id, "limite": limite}, reply=("events", "dernier"))
)


def events_page(conn: psycopg.Connection, depuis: int, limite: int) -> dict:
    """The events from seq `depuis` on, in seq order: at most `limite`, and no more once the page
    holds PAGE_BYTES of encoded events (at least one, however large); with `dernier`, the latest
    seq committed, read after the page (so never below its last event)."""
    events: list[dict] = []
    size = 0
    for event in read_events(conn, depuis - 1, limite):
        size += len(wire.encode(event))
        if events and size > PAGE_BYTES:
            break
        events.append(event)
    return {"events": events, "dernier": latest_seq(conn)}


class Replay(Service):
    name = NAME
    domain = SimpleNamespace(ops=OPS)

    def decide(self, request: protocol.Request) -> dict:
        return protocol.ok(request.id, events_page(self.session(), request.args["depuis"], request.args["limite"]))


if __name__ == "__main__":
    sys.exit(program.run(NAME, partial(main, service=Replay)))
