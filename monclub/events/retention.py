"""Retention: the outbox and the stored replies of request ids do not grow forever.

- An event is deleted once every listener has consumed it AND it is older than
  `events_seconds` (default one day: the window of `monclub events tail --from`).
- A request id's stored reply is deleted when older than `requests_seconds` (default one day,
  far beyond the client's 15 s deadline: a retrying client still gets its original outcome).
"""

import logging

import psycopg

from monclub.config import Config

log = logging.getLogger(__name__)
_BATCH = 10_000


def prune(conn: psycopg.Connection, config: Config) -> tuple[int, int]:
    events = conn.execute(
        "DELETE FROM events WHERE seq IN (SELECT seq FROM events"
        " WHERE seq <= (SELECT coalesce(min(seq), 0) FROM listener_positions)"
        " AND at < now() - make_interval(secs => %s) ORDER BY seq LIMIT %s)",
        (config.events_retention, _BATCH),
    ).rowcount
    requests = conn.execute(
        "DELETE FROM requests WHERE id IN (SELECT id FROM requests"
        " WHERE cree_le < now() - make_interval(secs => %s) LIMIT %s)",
        (config.requests_retention, _BATCH),
    ).rowcount
    if events or requests:
        log.info("pruned %d events and %d stored replies", events, requests)
    return events, requests
