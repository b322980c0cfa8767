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
import math
import time

import anyio.to_thread
import zmq
import zmq.asyncio

from monclub.cluster import view as cluster
from monclub.config import Config
from monclub.db.outbox import latest_seq, read_events
from monclub.errors import MonclubError
from monclub.events.bus import TOPIC_EVENT, TOPIC_HEARTBEAT, endpoints
from monclub.tree import status as tree_status
from monclub.tree import supervisord as tree
from monclub.web.backend import Database
from monclub.web.recovery import Recovery

log = logging.getLogger("monclub.web")
WAKE_SECONDS = 1.0
QUEUE = 1000
GAP = {"type": "gap"}
TREE_SECONDS = 0.5
RECOVERING_SECONDS = 0.1
RECOVERING_FOR = 30.0
CLUSTER_WAIT = 0.3
DEATH_SECONDS = 2.0
DEATH_POLL_SECONDS = 0.005
STATES = 8


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
    """The tree as `monclub status --json` shows it, with the cluster as `status --cluster --json`
    sees it and what went down and came back (monclub.web.recovery), sent to every open tree
    page's queue. One read for every page and /api/status: at most every TREE_SECONDS, the local
    tree every RECOVERING_SECONDS while a place a button killed is not back (for a time to serve
    again to a tenth of a second). The local tree comes from supervisord and the processes; the
    cluster, from PostgreSQL, in a thread of its own that the local tree never waits for more than
    CLUSTER_WAIT: with PostgreSQL down or slow, the cluster section says so and the rest goes on."""

    def __init__(self, config: Config):
        self.config = config
        self.local: dict | None = None
        self.read_at = 0.0
        self.lock = asyncio.Lock()
        self.recovery = Recovery()
        self.cluster: dict = {"error": "not read yet"}
        self.cluster_at = -math.inf
        self.cluster_read: asyncio.Task | None = None
        self.queues: set[asyncio.Queue] = set()
        self.wake = asyncio.Event()

    @contextlib.contextmanager
    def subscribe(self):
        """A queue of (kind, data) messages for one page, the first one at once."""
        queue: asyncio.Queue = asyncio.Queue(STATES)
        self.queues.add(queue)
        self.wake.set()
        try:
            yield queue
        finally:
            self.queues.discard(queue)

    async def run(self) -> None:
        try:
            while True:
                if self.queues:
                    self._publish(await self._message())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), self._interval())
                self.wake.clear()
        finally:
            if self.cluster_read is not None:
                self.cluster_read.cancel()

    def _interval(self) -> float:
        recovering = self.recovery.recovering(since=time.time() - RECOVERING_FOR)
        return RECOVERING_SECONDS if recovering else TREE_SECONDS

    async def _message(self) -> tuple[str, dict]:
        try:
            return "state", await self.current(self._interval())
        except MonclubError as error:
            return "down", {"code": error.code, "detail": error.message}
        except Exception:
            log.exception("the tree was not read")
            return "down", {"code": "internal_error", "detail": "the tree was not read (see the web program's log)"}

    def _publish(self, message: tuple[str, dict]) -> None:
        for queue in self.queues:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(message)

    async def current(self, max_age: float = TREE_SECONDS) -> dict:
        """The tree as the pages show it, read again when older than `max_age`."""
        async with self.lock:
            if self.local is None or time.monotonic() - self.read_at >= max_age:
                local, _ = await asyncio.gather(anyio.to_thread.run_sync(self._read), self._read_cluster())
                self.local, self.read_at = local, time.monotonic()
                self.recovery.observe(local, time.time())
            return self._shown()

    async def now(self) -> dict:
        """The local tree read now, as it is (what a kill button acts on)."""
        await self.current(max_age=0)
        assert self.local is not None
        return self.local

    async def killed(self, place: str, pid: int, at: float) -> None:
        """A button sent SIGKILL to `pid`, the process of `place`, at `at`: once it is gone
        (waited for at most DEATH_SECONDS), every open page is told at once that the place is
        down, before any read that could show it back."""
        deadline = time.monotonic() + DEATH_SECONDS
        while tree.alive(pid):
            if time.monotonic() > deadline:
                log.warning("%s: pid %d still alive %.0fs after SIGKILL", place, pid, DEATH_SECONDS)
                return
            await asyncio.sleep(DEATH_POLL_SECONDS)
        self.recovery.killed(place, pid, at)
        if self.local is not None:
            self._publish(("state", self._shown()))
        self.wake.set()

    def _shown(self) -> dict:
        assert self.local is not None
        ago = round(time.monotonic() - self.cluster_at, 1) if self.cluster_at > -math.inf else None
        found = {**self.cluster, "node": self.config.node, "read_ago": ago}
        return {**self.recovery.shown(self.local), "cluster": found}

    def _read(self) -> dict:
        return tree_status.enrich(self.config, tree.status(self.config))

    async def _read_cluster(self) -> None:
        """Start a read of the cluster if the last is older than TREE_SECONDS, and take the one
        under way if it ends within CLUSTER_WAIT (else the last one stays)."""
        if self.cluster_read is None and time.monotonic() - self.cluster_at >= TREE_SECONDS:
            self.cluster_read = asyncio.create_task(anyio.to_thread.run_sync(cluster.view, self.config))
        if self.cluster_read is None:
            return
        done, _ = await asyncio.wait({self.cluster_read}, timeout=CLUSTER_WAIT)
        if done:
            read, self.cluster_read = self.cluster_read, None
            self.cluster, self.cluster_at = read.result(), time.monotonic()
