"""What the live pages follow: the committed events, and the tree.

The events come as the listeners take them (docs/events.md, section 5): the bus only wakes the
feed, which reads what follows its last sequence number from PostgreSQL, so a message the bus
dropped, a bus or relay that was down, or a web program that restarted costs nothing; without any
message the feed reads every second anyway. Each page's stream gets every event in order; one that
falls too far behind gets a GAP instead and reads its state again from PostgreSQL.
"""

import asyncio
import contextlib
import logging
import time

import anyio.to_thread
import zmq
import zmq.asyncio

from monclub import observe, tree
from monclub.config import Config
from monclub.db.outbox import latest_seq, read_events
from monclub.errors import MonclubError
from monclub.events.bus import TOPIC_EVENT, TOPIC_HEARTBEAT, endpoints
from monclub.web.backend import Database

log = logging.getLogger("monclub.web")
WAKE_SECONDS = 1.0
QUEUE = 1000
GAP = {"type": "gap"}
TREE_SECONDS = 0.5


class Feed:
    """Every committed event, in sequence order, to every subscriber's queue."""

    def __init__(self, config: Config, db: Database):
        self.config = config
        self.db = db
        self.queues: set[asyncio.Queue] = set()
        self.last: int | None = None

    @contextlib.contextmanager
    def subscribe(self):
        queue: asyncio.Queue = asyncio.Queue(QUEUE)
        self.queues.add(queue)
        try:
            yield queue
        finally:
            self.queues.discard(queue)

    async def run(self) -> None:
        subscriber = zmq.asyncio.Context.instance().socket(zmq.SUB)
        subscriber.linger = 0
        for topic in (TOPIC_EVENT, TOPIC_HEARTBEAT):
            subscriber.subscribe(topic)
        subscriber.connect(endpoints(self.config)[1])
        try:
            while True:
                if await subscriber.poll(int(WAKE_SECONDS * 1000)):
                    await _drain(subscriber)
                await self.catch_up()
        finally:
            subscriber.close(linger=0)

    async def catch_up(self) -> None:
        """Publish what follows the last event published. With no page open it reads nothing; once
        one opens it starts from the latest event, with a GAP first so that the pages that opened
        meanwhile read their state again from there (nothing between is missed)."""
        if not self.queues:
            self.last = None
            return
        try:
            if self.last is None:
                self.last = await self.db.run(latest_seq)
                self._publish(GAP)
            while events := await self.db.run(read_events, self.last):
                for event in events:
                    self._publish(event)
                self.last = events[-1]["seq"]
        except MonclubError as error:
            log.warning("events not read: %s", error)

    def _publish(self, event: dict) -> None:
        for queue in self.queues:
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                _empty(queue)
                queue.put_nowait(GAP)


async def _drain(subscriber: zmq.asyncio.Socket) -> None:
    """Take every waiting message: they only wake the feed."""
    with contextlib.suppress(zmq.Again):
        while True:
            await subscriber.recv_multipart(flags=zmq.NOBLOCK)


def _empty(queue: asyncio.Queue) -> None:
    with contextlib.suppress(asyncio.QueueEmpty):
        while True:
            queue.get_nowait()


class TreeWatch:
    """The tree as `monclub status --json` shows it, read at most every TREE_SECONDS whatever
    the number of open pages."""

    def __init__(self, config: Config):
        self.config = config
        self.state: dict | None = None
        self.read_at = 0.0
        self.lock = asyncio.Lock()

    async def current(self, fresh: bool = False) -> dict:
        async with self.lock:
            if fresh or self.state is None or time.monotonic() - self.read_at >= TREE_SECONDS:
                self.state = await anyio.to_thread.run_sync(self._read)
                self.read_at = time.monotonic()
            return self.state

    def _read(self) -> dict:
        return observe.enrich(self.config, tree.status(self.config))
