"""The relay program: publishes outbox events onto the bus in commit order.

It reads `seq > last published` in order (the outbox makes that gapless and commit-ordered, so
nothing that commits late is skipped), wakes on NOTIFY, and while idle publishes a heartbeat with
the latest sequence so that a listener that missed the last events notices. It starts from the
latest event: listeners catch up on the past from PostgreSQL themselves. It archives what it
publishes (monclub.events.archive), and prunes what every listener and the archive have consumed,
past the retention windows.

Exactly one relay runs in a cluster: it holds the lease of the `relay` row of the partitions
table (monclub.cluster.ownership, as a shard holds a partition), renews it with each heartbeat and
fences its pruning with its epoch; the relays of the other nodes stand by and take over once the
lease runs out (at once on the same node, after a kill -9 and restart).
"""

import logging
import sys
import time

import psycopg
import zmq

from monclub import config as configuration
from monclub.cluster import ownership
from monclub.db import connect
from monclub.db.outbox import CHANNEL, latest_seq, read_events
from monclub.events import archive
from monclub.events.bus import HWM, TOPIC_EVENT, TOPIC_HEARTBEAT, endpoints
from monclub.events.retention import prune
from monclub.supervision.program import Stop, run
from monclub.wire import codec as wire
from monclub.wire import frames

log = logging.getLogger("monclub.relay")
HEARTBEAT_SECONDS = 0.5
STANDBY_SECONDS = 0.5
RENEW_SECONDS = ownership.LEASE_SECONDS / 3
RELAY = "relay"
PRUNE_SECONDS = 60.0
WAKE_SECONDS = 0.2
READ_BATCH = 1000  # events read and published per round trip
ARCHIVE_SECONDS, ARCHIVE_EVENTS = 0.5, 500  # how far the archive may lag the bus, at most


class Relay:
    def __init__(self, config: configuration.Config, publisher: zmq.Socket):
        self.config = config
        self.publisher = publisher
        self.last: int | None = None
        self.archived: int | None = None  # the archive's position, as this relay last moved it
        self.archived_at = 0.0
        self.heartbeat_at = 0.0
        self.renewed_at = time.monotonic()
        self.pruned_at = time.monotonic()

    def serve(self, conn: psycopg.Connection, stop: Stop, epoch: int) -> None:
        """Publish while this relay holds the lease at `epoch` (FencedOut once it lost it); the
        lease is renewed on time whether events flow or not."""
        conn.execute(f"LISTEN {CHANNEL}")
        fence = (RELAY, 0, epoch)
        archive.maintain(conn, fence, self.config.history_keep)
        maintained_at = time.monotonic()
        while not stop.requested:
            if time.monotonic() - self.renewed_at >= RENEW_SECONDS:
                ownership.renew(conn, RELAY, 0, epoch)
                self.renewed_at = time.monotonic()
            # Read again at once only when a read was full: else a commit since is announced by
            # its NOTIFY, kept by psycopg until `notifies` below yields it (one round trip per
            # wake saved; WAKE_SECONDS bounds the wait whatever happens to a notification).
            full = self.publish_new(conn) == READ_BATCH
            if self.archive_published(conn, fence) == archive.BATCH or full:
                continue
            now = time.monotonic()
            if now - self.heartbeat_at >= HEARTBEAT_SECONDS:
                frames.send(self.publisher, [TOPIC_HEARTBEAT, wire.encode({"seq": latest_seq(conn)})])
                self.heartbeat_at = now
            if now - self.pruned_at >= PRUNE_SECONDS:
                prune(conn, self.config, fence)
                self.pruned_at = now
            if now - maintained_at >= archive.MAINTAIN_SECONDS:
                archive.maintain(conn, fence, self.config.history_keep)
                maintained_at = now
            for _ in conn.notifies(timeout=WAKE_SECONDS, stop_after=1):
                pass

    def publish_new(self, conn: psycopg.Connection) -> int:
        """Publish the events committed since the last one published: how many."""
        if self.last is None:
            self.last = latest_seq(conn)
            log.info("relaying from seq %d", self.last)
        events = read_events(conn, self.last, READ_BATCH)
        for event in events:
            frames.send(self.publisher, [TOPIC_EVENT, wire.encode(event)])
            self.last = event["seq"]
        if events:
            self.heartbeat_at = time.monotonic()
        return len(events)

    def archive_published(self, conn: psycopg.Connection, fence: tuple[str, int, int]) -> int:
        """Archive the events published so far (at start, from the archive's own position): how
        many were copied. No query while the archive is known to be level with the bus, nor
        while it is behind by less than ARCHIVE_EVENTS for less than ARCHIVE_SECONDS: one copy
        per event was a third of the relay's CPU at 200 events/s, and a history read adds the
        outbox's tail beyond the archive's position, so the lag hides nothing."""
        if self.archived is not None and self.last is not None:
            behind = self.last - self.archived
            recent = time.monotonic() - self.archived_at < ARCHIVE_SECONDS
            if behind <= 0 or (behind < ARCHIVE_EVENTS and recent):
                return 0
        self.archived, copied = archive.archive(conn, fence)
        self.archived_at = time.monotonic()
        return copied


def main(config: configuration.Config) -> int:
    stop = Stop()
    context = zmq.Context()
    publisher = context.socket(zmq.PUB)
    publisher.linger = 0
    publisher.sndhwm = HWM
    publisher.connect(endpoints(config)[0])
    relay = Relay(config, publisher)
    while not stop.requested:
        try:
            with connect(config.conninfo(), autocommit=True) as conn:
                epoch = _take_lease(conn, config)
                relay.renewed_at = time.monotonic()
                relay.serve(conn, stop, epoch)
                ownership.release(conn, RELAY, 0, epoch)  # stopped: a relay standing by takes over at once
        except ownership.Held as held:
            log.info("standing by: the relay is %s", held)
            time.sleep(STANDBY_SECONDS)
        except ownership.FencedOut as error:
            log.warning("%s; standing by", error)
            relay.last = relay.archived = None
        except psycopg.Error as error:
            relay.archived = None
            log.warning("database error (%s); retrying", str(error).strip().splitlines()[0])
            time.sleep(0.5)
    publisher.close(linger=0)
    context.term()
    return 0


def _take_lease(conn: psycopg.Connection, config: configuration.Config) -> int:
    """The relay's lease for this process (Held while another relay's runs); its epoch. Its
    directory entry is where it publishes: its node's bus, for subscribers of any node."""
    locked = ownership.lock(conn, RELAY, 0)
    epoch = ownership.take(conn, RELAY, 0, "relay", config.node, config.service_endpoint("bus-out"), locked)
    if not locked:
        ownership.end_lock_holder(conn, RELAY, 0)
    log.info("relay of the cluster at epoch %d", epoch)
    return epoch


if __name__ == "__main__":
    sys.exit(run("relay", main))
