"""Retention: the outbox and the stored replies of request ids do not grow forever.

- An event is deleted once every listener has consumed it, the relay has archived it
  (monclub.events.archive: nothing leaves the outbox unarchived) AND it is older than
  `events_seconds` (default one day: the window of `monclub events tail --from`). Deletion goes
  by sequence number, oldest first, so the outbox never has holes.
- A request id's stored reply is deleted when older than `requests_seconds` (default one day,
  far beyond the client's 15 s deadline: a retrying client still gets its original outcome).
"""

import logging

import psycopg

from monclub.cluster import ownership
from monclub.config import Config

log = logging.getLogger(__name__)
_BATCH = 10_000
_MAX_BATCHES = 100

_EVENTS = """
DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE seq <= least(
    (SELECT coalesce(min(seq), 0) FROM listener_positions),
    (SELECT seq FROM history_position),
    (SELECT coalesce(max(seq), 0) FROM events WHERE at < now() - make_interval(secs => %s)))
  ORDER BY seq LIMIT %s)"""
_REQUESTS = """
DELETE FROM requests WHERE id IN (SELECT id FROM requests
  WHERE cree_le < now() - make_interval(secs => %s) LIMIT %s)"""


def _in_batches(conn: psycopg.Connection, query: str, window: float, fence: tuple[str, int, int]) -> int:
    """Each batch in a transaction of its own that first checks the relay's epoch (`fence`)."""
    total = 0
    for _ in range(_MAX_BATCHES):
        with conn.transaction():
            conn.execute(ownership.FENCE, fence)
            deleted = conn.execute(query, (window, _BATCH)).rowcount
        total += deleted
        if deleted < _BATCH:
            break
    return total


def prune(conn: psycopg.Connection, config: Config, fence: tuple[str, int, int]) -> tuple[int, int]:
    """Prune as the relay that holds the lease at `fence` = (branch, partition, epoch)."""
    events = _in_batches(conn, _EVENTS, config.events_retention, fence)
    requests = _in_batches(conn, _REQUESTS, config.requests_retention, fence)
    if events or requests:
        log.info("pruned %d events and %d stored replies", events, requests)
    return events, requests
