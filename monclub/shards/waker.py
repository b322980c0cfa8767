"""Waking the relay after commits, off the shard's path (docs/events.md, section 3).

A shard process asks for a wake-up once the replies of a batch that committed events are sent; a
thread of its own runs the NOTIFY on a session of its own, so that neither a commit nor the next
request waits for it. Wake-ups are paced: at most one every PACE_SECONDS, those asked meanwhile
make one more after it, never a queue. Unpaced, a shard at one client sent one per registration,
and each cost the next request about 0.07 ms (the thread's share of the GIL and its backend's of
the CPU); paced, an event waits at most PACE_SECONDS more for the relay. Losing one (a kill -9, a
lost session) costs latency only: the relay polls.
"""

import logging
import threading
import time

import psycopg

from monclub.db import connect
from monclub.db.outbox import wake_relay

log = logging.getLogger(__name__)
CLOSE_SECONDS = 2.0
PACE_SECONDS = 0.005


class RelayWaker:
    def __init__(self, conninfo: str, pace: float = PACE_SECONDS):
        self.conninfo = conninfo
        self.pace = pace
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
            time.sleep(self.pace)
        if conn is not None:
            conn.close()
