"""The archive (`history`, migration 023): the relay copies what it publishes there, and keeps its
monthly partitions.

Why the relay and not the writing transaction: a copy in the shard's transaction would cost every
command one more insert into a table with three indexes, on the path that the benchmarks hold to
a few per cent; the relay's copy costs the command path nothing. What the relay gives up, it gets
back from the outbox's own guarantees: the events are gapless and in commit order, so copying
`seq > position` in order, and moving the position in the same transaction (fenced by the relay's
epoch, the position's row locked), copies each event exactly once, whatever kill comes in
between. Retention prunes nothing beyond that position (monclub.events.retention), so no event
leaves the outbox before it is archived. A history read adds the outbox's tail beyond the
position (monclub.db.history), so it never misses the last events.

The partitions: the relay of the cluster, at start and once a day, makes this month's and the next
two (`monclub_history_months`, under an advisory lock); the default partition takes whatever falls
outside them, and its rows move to their month's partition when it is made. With `[history] keep`,
the same pass drops the months older than that, after a snapshot of every aggregate
(`monclub_history_keep`): replay starts from the latest snapshot.
"""

import logging

import psycopg

from monclub.cluster import ownership
from monclub.db import scalar

log = logging.getLogger(__name__)
BATCH = 10_000
AHEAD = 2  # months made beyond this one
MAINTAIN_SECONDS = 86_400.0

# One statement, so one round trip (the relay runs it after every wake, and the six of a
# transaction were most of its CPU per event): the fence (monclub.cluster.ownership, the relay's
# epoch) and the position's row locked, the next events copied, the position moved past them.
# A statement is atomic: a fence that fails leaves nothing copied and the position where it was.
_ARCHIVE = """
WITH position AS (
    SELECT h.seq FROM history_position h, monclub_fence(%(branch)s, %(partition)s, %(epoch)s) FOR UPDATE OF h),
copied AS (
    INSERT INTO history (seq, type, aggregate, at, payload, branch, partition, epoch, node, request_id, membres)
    SELECT e.seq, e.type, e.aggregate, e.at, e.payload, e.branch, e.partition, e.epoch, e.node, e.request_id,
           monclub_membres(e.type, e.payload)
    FROM events e, position WHERE e.seq > position.seq ORDER BY e.seq LIMIT %(batch)s
    RETURNING seq),
moved AS (
    UPDATE history_position SET seq = (SELECT max(seq) FROM copied) WHERE EXISTS (SELECT FROM copied))
SELECT position.seq, (SELECT count(*) FROM copied), coalesce((SELECT max(seq) FROM copied), position.seq)
FROM position"""


def archive(conn: psycopg.Connection, fence: tuple[str, int, int], batch: int = BATCH) -> tuple[int, int]:
    """Copy the next events of the outbox into the archive and move its position, in one statement
    fenced by the relay's epoch (`conn` in autocommit: its own transaction): (the new position,
    how many were copied)."""
    branch, partition, epoch = fence
    params = {"branch": branch, "partition": partition, "epoch": epoch, "batch": batch}
    row = conn.execute(_ARCHIVE, params).fetchone()
    if row is None:
        raise psycopg.DataError("history_position has no row: the archive's migration (023) did not run whole")
    after, copied, last = row
    if copied and last - after != copied:
        log.error("the outbox had a gap after seq %d: %d events archived up to %d", after, copied, last)
    return last, copied


def maintain(conn: psycopg.Connection, fence: tuple[str, int, int], keep: int) -> tuple[int, int]:
    """This month's partition and the next ones; with `keep` (months), drop the older ones: the
    months (made, dropped)."""
    with conn.transaction():
        conn.execute(ownership.FENCE, fence)
        made = scalar(conn, "SELECT monclub_history_months(%s)", (AHEAD,))
        dropped = scalar(conn, "SELECT monclub_history_keep(%s)", (keep,)) if keep else 0
    if made or dropped:
        log.info("archive: %d month(s) made, %d dropped after a snapshot", made, dropped)
    return made, dropped
