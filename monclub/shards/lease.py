"""An owner's hold on its partition: the session that proves it (opened on demand, its epoch
fencing every write), the lease that lets it answer from memory, the hand-over, and what it
forgets when the session is lost. Part of `monclub.shards.owner.Owner`."""

import logging
from collections.abc import Callable

import psycopg

from monclub.cluster.ownership import LEASE_SECONDS, FencedOut
from monclub.errors import Unavailable
from monclub.shards.store import Store

log = logging.getLogger("monclub.shards.owner")
LEASE_TRUSTED = LEASE_SECONDS * 0.9  # a margin for the two clocks' rates


class PartitionLease:
    """The session and lease of one partition's owner, and the memory it must drop with them."""

    name: str
    open_store: Callable[[], Store]
    monotonic: Callable[[], float]
    store: Store | None
    owned_until: float
    waiting: str | None
    aggregates: dict[str, object]
    membres: set[int]
    stale_memory: bool

    def _store(self) -> Store:
        if self.store is None or not self.store.usable:
            self.forget_all()
            opened = self.monotonic()
            try:
                self.store = self.open_store()
            except Unavailable as error:
                self.waiting = error.message.removesuffix("; retry shortly")
                raise
            self.waiting = None
            self.owned_until = opened + LEASE_TRUSTED
        return self.store

    def _sure_to_own(self) -> None:
        """Answer from memory only while no other process can own the partition: while the lease
        this shard last renewed still runs by its own monotonic clock, measured from before the
        renewal was sent (PostgreSQL's lease, set later, ends later); else renew it first."""
        if self.monotonic() >= self.owned_until:
            self._renew()

    def _renew(self) -> None:
        sent = self.monotonic()
        store = self._store()
        if sent >= self.owned_until - LEASE_TRUSTED * 2 / 3:
            store.renew()
            self.owned_until = sent + LEASE_TRUSTED

    def _keep_lease(self) -> None:
        """Own the partition (take it as soon as it is free: a waiting shard takes it when the
        lease of the process that holds it ends) and renew the lease in time."""
        try:
            self._renew()
        except (FencedOut, psycopg.Error) as error:
            self._lose_connection(error)
        except Unavailable:
            pass

    @property
    def owning(self) -> bool:
        """Whether this owner holds the partition now (a session with its epoch)."""
        return self.store is not None and self.store.usable

    def release(self) -> None:
        """Hand the partition over (a planned move, a stop): nothing is pending between two
        batches, so clearing the lease lets the next owner take it at once, with epoch + 1."""
        if self.owning and self.store is not None:
            try:
                self.store.release()
            except psycopg.Error as error:
                log.warning("%s: the hand-over failed (%s); its lease runs out", self.name, str(error).strip()[:200])
        self.forget_all()

    def forget_all(self) -> None:
        """Drop memory: whoever owned the shard while we had no session may have written.
        (The injected fault `stale_memory` keeps it, and updates it before the commit: a broken
        shard that trusts its memory, for drills that test the auditor.)"""
        if self.store is not None:
            self.store.close()
        self.store = None
        if not self.stale_memory:
            self.aggregates.clear()
        self.membres.clear()

    def _lose_connection(self, error: Exception) -> None:
        log.warning("%s: database connection lost (%s); memory dropped", self.name, str(error).strip()[:200])
        self.forget_all()

    def _drop(self, aggregate_id: str) -> None:
        """Forget one aggregate; it is reloaded from PostgreSQL on its next message."""
        if not self.stale_memory:
            self.aggregates.pop(aggregate_id, None)
