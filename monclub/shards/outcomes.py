"""The end of a batch's transaction for its owner: what is kept once it commits, which request ids
stay unresolved when its outcome is unknown, and the replies of such an outcome resolved later by
request id. A collaborator of `monclub.shards.owner.Owner`; monclub.shards.shared_commit tells it
how a transaction shared by several owners ended for each (`Ended`)."""

from typing import NamedTuple

import psycopg

from monclub.cluster.ownership import FencedOut
from monclub.contract import protocol
from monclub.errors import Unavailable
from monclub.shards.batch import Batch
from monclub.shards.lease import Lease
from monclub.shards.memory import Memory
from monclub.shards.stats import Stats
from monclub.shards.store import AlreadyApplied, NotCommitted, Store
from monclub.wire.stored import stored_reply


class Decided(NamedTuple):
    """A run of commands decided against memory, not written yet: the replies it sends once
    committed, and the session it was decided on (whose epoch the replies bear)."""

    requests: list[protocol.Request]
    batch: Batch
    replies: list[dict | None]
    store: Store


class Ended(NamedTuple):
    """How the transaction that held a batch ended: committed when `failure` is None. `unknown`:
    it failed on another owner's session in a way that cannot tell whether it committed."""

    failure: Exception | None = None
    unknown: bool = False


COMMITTED = Ended()


class Outcomes:
    """Writing one owner's batches and judging how their transactions ended."""

    def __init__(self, lease: Lease, memory: Memory, stats: Stats) -> None:
        self.lease = lease
        self.memory = memory
        self.stats = stats
        self.unresolved: set[str] = set()  # request ids whose commit may have happened
        self.unpublished = False  # events committed since the relay was last woken

    def write(self, batch: Batch) -> Exception | None:
        """Write the batch in one transaction on this owner's session; None once committed, else
        the failure (memory is then as before; if the session was lost, the request ids stay
        unresolved)."""
        if batch.writes:
            store = self.lease.session()
            started = self.lease.monotonic()
            try:
                store.write(batch.writes)
            except (FencedOut, NotCommitted, AlreadyApplied, psycopg.Error) as error:
                return self.settle(batch, Ended(error))
            self.stats.committed(len(batch.writes), self.lease.monotonic() - started)
        return self.settle(batch, COMMITTED)

    def settle(self, batch: Batch, ended: Ended) -> Exception | None:
        """Memory and the unresolved request ids once the batch's transaction ended; its failure.
        Committed: keep its states. Refused on a session that survives: nothing was committed.
        Fenced out, or the session ended before it was sent: nothing was committed, and the
        session is dropped. Any other loss: the commit may have happened, its ids stay
        unresolved until the database tells."""
        if self.memory.stale:  # the fault trusts its decisions before they are committed
            self.memory.keep(batch.states)
        ids = batch.request_ids
        error = ended.failure
        if error is None:
            self.unpublished = self.unpublished or any(write.records for write in batch.writes)
            self.unresolved.difference_update(ids)
            self.memory.keep(batch.states)
            self.memory.know(batch.membres)
            for aggregate_id in batch.dropped:
                self.memory.drop(aggregate_id)
        elif isinstance(error, (FencedOut, NotCommitted)):
            self.lease.lose(error)
        elif self.lease.owning and not ended.unknown:
            self.unresolved.difference_update(ids)
        else:
            self.unresolved.update(ids)
            self.lease.lose(error)
        return error

    def take_unpublished(self) -> bool:
        """Whether this owner committed events since it was last asked (the host then wakes the
        relay, once its replies are sent)."""
        unpublished, self.unpublished = self.unpublished, False
        return unpublished

    def unreachable(self, request: protocol.Request, message: str) -> dict | None:
        """`unavailable` (nothing was committed), or no answer for a request whose earlier
        commit may have happened: the client resends it, and it is resolved once the database
        can tell."""
        return None if request.id in self.unresolved else protocol.error(request.id, "unavailable", message)

    def resolved(self, batch: Batch, requests: list[protocol.Request], replies: list) -> list[dict | None]:
        """The batch's commit may or may not have happened: ask the database for the replies stored
        under its request ids (the other replies, never stored, stand)."""
        ids = set(batch.request_ids)
        try:
            stored = self.lease.session().stored_replies(list(ids))
        except (Unavailable, psycopg.Error):
            self.lease.forget()
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
