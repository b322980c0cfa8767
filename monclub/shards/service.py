"""A ROUTER service on PostgreSQL that owns no partition (the accueil, the bus's replay): what it
shares with a shard's handler for monclub.shards.server's loop, and its one database session.

Each request is decided alone, in arrival order. A lost session (or one left on a server that no
longer takes writes: monclub.db.SESSION_LOST) is opened again on the next request; meanwhile a
request gets `unavailable` (nothing was committed), or, for a mutation whose outcome is unknown,
no reply at all (`unreachable`).
"""

import logging
import os
from types import SimpleNamespace

import psycopg

from monclub.config import Config
from monclub.contract import protocol
from monclub.db import SESSION_LOST, connect
from monclub.shards.server import serve
from monclub.wire import curve

log = logging.getLogger(__name__)
NOTHING = "nothing was committed"


class Service:
    name = ""
    domain = SimpleNamespace(ops=protocol.ops("service"))  # the loop parses requests with `domain.ops`

    def __init__(self, conninfo: str, node: str | None = None):
        self.conninfo = conninfo
        self.node = node  # this node's name, kept with the events the service writes
        self.conn: psycopg.Connection | None = None
        self.handled = 0

    def tick(self) -> None:
        """No timer."""

    def after_replies(self) -> None:
        """Nothing to do once the replies are sent."""

    def handle_batch(self, requests: list[protocol.Request]) -> list[dict | None]:
        return [self.handle(request) for request in requests]

    def handle(self, request: protocol.Request) -> dict | None:
        if request.op == "ping":
            return protocol.ok(request.id, {"service": self.name, "pid": os.getpid(), "handled": self.handled})
        self.handled += 1
        try:
            return self.decide(request)
        except SESSION_LOST as error:
            self.lose(error)
            return self.unreachable(request)
        except psycopg.Error as error:
            log.error("%s %s: %s", request.op, request.id, str(error).strip().splitlines()[0])
            return protocol.error(request.id, "internal_error", f"database error; {NOTHING}")

    def decide(self, request: protocol.Request) -> dict | None:
        raise NotImplementedError

    def unreachable(self, request: protocol.Request) -> dict | None:
        return protocol.error(request.id, "unavailable", f"database unreachable; {NOTHING}")

    def session(self) -> psycopg.Connection:
        if self.conn is None or self.conn.closed or self.conn.broken:
            self.conn = connect(self.conninfo, autocommit=True)
        return self.conn

    def close(self) -> None:
        """On stop: the session ends."""
        if self.conn is not None:
            self.conn.close()

    def lose(self, error: Exception) -> None:
        log.warning("database connection lost (%s)", str(error).strip()[:200])
        if self.conn is not None:
            self.conn.close()
        self.conn = None


def main(config: Config, service: type[Service]) -> int:
    """The program of `service`: its ROUTER at `config.service_endpoint`, until SIGTERM."""
    curve.check_server(config)
    return serve(config.service_endpoint(service.name), service(config.conninfo(), config.node), config)
