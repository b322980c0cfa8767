"""The end of a batch's transaction for its owner: which request ids stay unresolved while it
is in flight, what is kept once it commits, what a failure leaves, and the replies of an outcome
resolved by request id when the commit's fate was unknown. Part of
`monclub.shards.owner.Owner` (monclub.shards.shared_commit drives the same steps for a
transaction shared by several owners)."""

from typing import NamedTuple

import psycopg

from monclub.cluster.ownership import FencedOut
from monclub.contract import protocol
from monclub.errors import Unavailable
from monclub.shards.batch import Batch
from monclub.shards.lease import PartitionLease
from monclub.shards.stats import Stats
from monclub.shards.store import AlreadyApplied, NotCommitted
from monclub.wire.stored import stored_reply


class Attempt(NamedTuple):
    """A batch's transaction in flight: its request ids, those not unresolved before it, and when
    it was sent."""

    ids: list[str]
    fresh: list[str]
    started: float


class WriteOutcomes(PartitionLease):
    """Writing a batch and judging how its transaction ended."""

    unresolved: set[str]
    stats: Stats
    unpublished: bool

    def write(self, batch: Batch) -> Exception | None:
        """Write the batch in one transaction; None once committed, else the failure (after which
        memory is as before; if the connection was lost, `store` is None and the request ids stay
        unresolved)."""
        if batch.writes:
            store = self._store()
            attempt = self.begin_write(batch)
            try:
                store.write(batch.writes)
            except (FencedOut, NotCommitted, AlreadyApplied, psycopg.Error) as error:
                return self.write_failed(attempt, error)
            self.stats.committed(len(batch.writes), self.monotonic() - attempt.started)
        self.written(batch)
        return None

    def begin_write(self, batch: Batch) -> Attempt:
        """Before a batch's transaction is sent: its request ids are unresolved until it ends."""
        ids = batch.request_ids
        fresh = [request_id for request_id in ids if request_id not in self.unresolved]
        self.unresolved.update(ids)
        if self.stale_memory:
            self.aggregates.update(batch.states)
        return Attempt(ids, fresh, self.monotonic())

    def abandon_write(self, attempt: Attempt) -> None:
        """The transaction was rolled back before it was this owner's to judge (another
        partition's part failed it): as if it had not been sent."""
        self.unresolved.difference_update(attempt.fresh)

    def written(self, batch: Batch) -> None:
        """The batch's transaction committed: keep its states. (Its size and time go to the stats
        where it was sent: one observation for a transaction, whatever the partitions it holds.)"""
        self.unpublished = self.unpublished or any(write.records for write in batch.writes)
        self.unresolved.difference_update(batch.request_ids)
        self.aggregates.update(batch.states)
        self.membres.update(batch.membres)
        for aggregate_id in batch.dropped:
            self._drop(aggregate_id)

    def write_failed(self, attempt: Attempt, error: Exception) -> Exception:
        """The batch's transaction failed with `error` (memory stays as it was); it is returned."""
        if isinstance(error, (FencedOut, NotCommitted)):
            self.unresolved.difference_update(attempt.fresh)
            self._lose_connection(error)
        elif self.store is not None and self.store.usable:
            self.unresolved.difference_update(attempt.ids)
        else:
            self._lose_connection(error)
        return error

    def _unreachable(self, request: protocol.Request, message: str) -> dict | None:
        return None if request.id in self.unresolved else protocol.error(request.id, "unavailable", message)

    def _resolved(self, batch: Batch, requests: list[protocol.Request], replies: list) -> list[dict | None]:
        """The batch's commit may or may not have happened: ask the database for the replies stored
        under its request ids (the other replies, never stored, stand)."""
        ids = set(batch.request_ids)
        try:
            stored = self._store().stored_replies(list(ids))
        except (Unavailable, psycopg.Error):
            self.forget_all()
            return [None if request.id in ids else reply for request, reply in zip(requests, replies, strict=True)]
        self.unresolved.difference_update(ids)
        lost = "database connection lost before commit; nothing was committed"
        return [
            (
                stored_reply(request, *stored[request.id])
                if request.id in stored
                else protocol.error(request.id, "unavailable", lost)
            )
            if request.id in ids
            else reply
            for request, reply in zip(requests, replies, strict=True)
        ]
