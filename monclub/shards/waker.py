"""Waking the relay after commits, off the shard's path (docs/events.md, section 3).

A shard process asks for a wake-up once the replies of a batch that committed events are sent; a
thread of its own runs the NOTIFY on a session of its own, so that neither a commit nor the next
request waits for it. Wake-ups asked while one is in flight make one more after it, never a
queue. Losing one (a kill -9, a lost session) costs latency only: the relay polls.
"""

import logging
import threading

import psycopg

from monclub.db import connect
from monclub.db.outbox import wake_relay

log = logging.getLogger(__name__)
CLOSE_SECONDS = 2.0


class RelayWaker:
    def __init__(self, conninfo: str):
        self.conninfo = conninfo
        self.asked = threading.Event()
        self.closing = False
        self.thread = threading.Thread(target=self._run, name="relay-waker", daemon=True)
        self.thread.start()

    def wake(self) -> None:
        self.asked.set()

    def close(self) -> None:
        self.closing = True
        self.asked.set()
        self.thread.join(CLOSE_SECONDS)

    def _run(self) -> None:
        conn: psycopg.Connection | None = None
        while True:
            self.asked.wait()
            self.asked.clear()
            if self.closing:
                break
            try:
                conn = conn if conn is not None and not conn.closed else connect(self.conninfo, autocommit=True)
                wake_relay(conn)
            except psycopg.Error as error:
                log.debug("relay not woken (it polls): %s", error)
                if conn is not None:
                    conn.close()
        if conn is not None:
            conn.close()
