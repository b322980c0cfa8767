"""The shell of every listener: woken by the bus, it applies events read from PostgreSQL.

Pub/sub loses messages by nature (slow joiners, high-water marks, a listener that was down), and
anybody who reaches the bus can publish on it. So a listener takes from the bus only the news that
events beyond its position exist (an event or a heartbeat announcing one; silence on the bus makes
it look too), and reads those events from the outbox in order. Each batch of effects is committed
in one transaction with the new position, guarded by the old one: a redelivered or concurrently
applied event is never applied twice.
"""

import logging
import time
import zlib
from collections.abc import Callable
from typing import Protocol

import psycopg
import zmq

from monclub import config as configuration
from monclub.db import connect, scalar
from monclub.db.outbox import read_events
from monclub.db.pipeline import Pipelined, Statement
from monclub.errors import Unavailable
from monclub.events.bus import endpoints
from monclub.registry import LISTENER_LOCK_CLASS
from monclub.supervision.program import Stop, run
from monclub.wire import codec as wire
from monclub.wire import frames

log = logging.getLogger("monclub.listener")
SILENCE_SECONDS = 2.0
_BATCH = 1000
_MOVE = "SELECT monclub_move_position(%s, %s, %s)"  # migration 024
POSITION_MOVED = "MCP01"


class Effects(Protocol):
    name: str

    def statements(self, event: dict) -> list[Statement]:
        """The statements that apply one event's effects, run in the caller's transaction."""

    def after_commit(self, conn: psycopg.Connection, events: list[dict]) -> None:
        """Side effects outside the database, once the batch is committed (at least once)."""


class PositionMoved(Exception):
    """Another process advanced this listener's position: reload it."""


class Follower:
    """Keeps one listener's position and applies events to it, in order, exactly once."""

    def __init__(self, conn: psycopg.Connection, effects: Effects):
        self.conn = conn
        self.effects = effects
        self.pipelined = Pipelined(conn)
        self.position = self._own_position()

    def _own_position(self) -> int:
        key = zlib.crc32(self.effects.name.encode()) & 0x7FFF_FFFF
        if not scalar(self.conn, "SELECT pg_try_advisory_lock(%s, %s)", (LISTENER_LOCK_CLASS, key)):
            raise Unavailable(f"another {self.effects.name} listener is running")
        self.conn.execute(
            "INSERT INTO listener_positions (listener) VALUES (%s) ON CONFLICT DO NOTHING", (self.effects.name,)
        )
        return scalar(self.conn, "SELECT seq FROM listener_positions WHERE listener = %s", (self.effects.name,))

    def apply(self, events: list[dict]) -> None:
        """The events' effects and the new position, committed together in one round trip (the
        statements prepared once per session: monclub.db.pipeline); PositionMoved, and nothing
        applied, when another process moved the position first."""
        move: Statement = (_MOVE, (self.effects.name, self.position, events[-1]["seq"]))
        try:
            self.pipelined.commit([move, *[step for event in events for step in self.effects.statements(event)]])
        except psycopg.Error as error:
            if error.sqlstate == POSITION_MOVED:
                raise PositionMoved(self.effects.name) from error
            raise
        self.position = events[-1]["seq"]
        self.effects.after_commit(self.conn, events)

    def catch_up(self) -> None:
        """Apply what the outbox has beyond our position; then give the effects a chance to
        retry what they do outside the database (so a failed delivery is retried when idle).
        A read that was not full was the last: what commits after it is announced on the bus
        (or by its silence), so no round trip is spent on a read that finds nothing."""
        while events := read_events(self.conn, self.position, _BATCH):
            if events[0]["seq"] != self.position + 1:
                log.warning(
                    "%s: events %d..%d were pruned before it consumed them",
                    self.effects.name,
                    self.position + 1,
                    events[0]["seq"] - 1,
                )
            self.apply(events)
            if len(events) < _BATCH:
                break
        self.effects.after_commit(self.conn, [])

    def receive(self, messages: list[dict]) -> None:
        """The bus only tells that events exist: any message announcing a `seq` beyond our
        position (an event or a heartbeat) makes us read the events from the outbox, the source
        of truth. So a garbled or forged message on the bus is never applied, and can never make
        us skip the real event of its number."""
        if any(type(message.get("seq")) is int and message["seq"] > self.position for message in messages):
            self.catch_up()


def application_name(listener: str, config: configuration.Config) -> str:
    """How the listener's session names itself to PostgreSQL: `status --cluster` reads its node there."""
    return f"monclub {listener} on {config.node}"


def follow(config: configuration.Config, effects: Effects, stop: Stop) -> None:
    """Subscribe first (so nothing published meanwhile is missed), then catch up, then follow."""
    context: zmq.Context = zmq.Context.instance()
    subscriber = context.socket(zmq.SUB)
    subscriber.linger = 0
    subscriber.rcvhwm = 100_000
    subscriber.subscribe(b"")
    subscriber.connect(endpoints(config)[1])
    try:
        with connect(
            config.conninfo(), autocommit=True, application_name=application_name(effects.name, config)
        ) as conn:
            follower = Follower(conn, effects)
            follower.catch_up()
            log.info("%s: caught up at seq %d, following the bus", effects.name, follower.position)
            heard = time.monotonic()
            while not stop.requested:
                if subscriber.poll(500):
                    follower.receive(_drain(subscriber))
                    heard = time.monotonic()
                elif time.monotonic() - heard > SILENCE_SECONDS:
                    follower.catch_up()
                    heard = time.monotonic()
    finally:
        subscriber.close(linger=0)


def _drain(subscriber: zmq.Socket) -> list[dict]:
    """Every message already waiting (up to a batch), decoded; undecodable ones dropped."""
    messages: list[dict] = []
    while len(messages) < _BATCH and frames.waiting(subscriber):
        message = _decode(frames.receive(subscriber))
        if message is not None:
            messages.append(message)
    return messages


def _decode(message: list[bytes]) -> dict | None:
    if len(message) != 2:
        log.warning("dropped a bus message of %d frames", len(message))
        return None
    try:
        return wire.decode(message[1], wire.BUS_MESSAGE_BYTES, wire.BUS_LIMITS)
    except wire.DecodeError as error:
        log.warning("dropped an undecodable bus message: %s", error)
        return None


def main(name: str, make_effects: Callable[[configuration.Config], Effects]) -> int:
    """The program of one listener: follow forever, waiting (not crashing) when the database or
    its ownership is not available."""
    return run(name, lambda config: _follow_forever(config, make_effects(config)))


def _follow_forever(config: configuration.Config, effects: Effects) -> int:
    stop = Stop()
    while not stop.requested:
        try:
            follow(config, effects, stop)
        except (psycopg.Error, Unavailable, PositionMoved) as error:
            log.warning("%s: %s; retrying", effects.name, str(error).strip().splitlines()[0])
            time.sleep(0.5)
    return 0
