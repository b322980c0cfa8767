"""Waking the relay after commits, off the shard's path (docs/events.md, section 3).

A shard process asks for a wake-up once the replies of a batch that committed events are sent; a
thread of its own runs the NOTIFY on a session of its own, so that neither a commit nor the next
request waits for it. Wake-ups asked while one is in flight, or within GAP_SECONDS after it, make
one more at the gap's end, never a queue. Losing one (a kill -9, a lost session) costs latency
only: the relay polls.

The gap trades at most GAP_SECONDS of an event's latency for CPU: a wake-up costs the shard's
process about a hundred µs (its thread, the NOTIFY's round trip) and PostgreSQL a transaction,
and the relay and the listeners wake once per wake-up; at one client, waking after every commit
cost a third of the shard's CPU per registration (README, third performance step).
"""

import logging
import threading

import psycopg

from monclub.db import connect
from monclub.db.outbox import wake_relay

log = logging.getLogger(__name__)
CLOSE_SECONDS = 2.0
GAP_SECONDS = 0.010


class RelayWaker:
    def __init__(self, conninfo: str):
        self.conninfo = conninfo
        self.asked = threading.Event()
        self.closing = threading.Event()
        self.thread = threading.Thread(target=self._run, name="relay-waker", daemon=True)
        self.thread.start()

    def wake(self) -> None:
        self.asked.set()

    def close(self) -> None:
        self.closing.set()
        self.asked.set()
        self.thread.join(CLOSE_SECONDS)

    def _run(self) -> None:
        conn: psycopg.Connection | None = None
        while True:
            self.asked.wait()
            self.asked.clear()
            if self.closing.is_set():
                break
            try:
                conn = conn if conn is not None and not conn.closed else connect(self.conninfo, autocommit=True)
                wake_relay(conn)
            except psycopg.Error as error:
                log.debug("relay not woken (it polls): %s", error)
                if conn is not None:
                    conn.close()
            self.closing.wait(GAP_SECONDS)
        if conn is not None:
            conn.close()
