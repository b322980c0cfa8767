"""An owner's hold on its partition: the session that proves it (opened on demand, its epoch
fencing every write), the lease that lets it answer from memory, the hand-over, and the memory it
drops when the session is lost (whoever owned the partition meanwhile may have written).
A collaborator of `monclub.shards.owner.Owner`."""

import logging
from collections.abc import Callable

import psycopg

from monclub.cluster.ownership import LEASE_SECONDS, FencedOut
from monclub.errors import Unavailable
from monclub.shards.memory import Memory
from monclub.shards.store import Store

log = logging.getLogger("monclub.shards.owner")
LEASE_TRUSTED = LEASE_SECONDS * 0.9  # a margin for the two clocks' rates


class Lease:
    """The session and lease of one partition's owner (`name` in logs); `memory` is dropped
    whenever the session is."""

    def __init__(
        self, name: str, open_store: Callable[[], Store], monotonic: Callable[[], float], memory: Memory
    ) -> None:
        self.name = name
        self.open_store = open_store
        self.monotonic = monotonic
        self.memory = memory
        self.store: Store | None = None
        self.owned_until = 0.0
        self.waiting: str | None = None  # why the partition is not owned here, while it is not

    def session(self) -> Store:
        """The session owning the partition, opened (and the partition taken) if there is none;
        Unavailable while another process holds it or the database is down."""
        if self.store is None or not self.store.usable:
            self.forget()
            opened = self.monotonic()
            try:
                self.store = self.open_store()
            except Unavailable as error:
                self.waiting = error.message.removesuffix("; retry shortly")
                raise
            self.waiting = None
            self.owned_until = opened + LEASE_TRUSTED
        return self.store

    def sure_to_own(self) -> None:
        """Answer from memory only while no other process can own the partition: while the lease
        this shard last renewed still runs by its own monotonic clock, measured from before the
        renewal was sent (PostgreSQL's lease, set later, ends later); else renew it first."""
        if self.monotonic() >= self.owned_until:
            self._renew()

    def _renew(self) -> None:
        sent = self.monotonic()
        store = self.session()
        if sent >= self.owned_until - LEASE_TRUSTED * 2 / 3:
            store.renew()
            self.owned_until = sent + LEASE_TRUSTED

    def keep(self) -> None:
        """Own the partition (take it as soon as it is free: a waiting shard takes it when the
        lease of the process that holds it ends) and renew the lease in time."""
        try:
            self._renew()
        except (FencedOut, psycopg.Error) as error:
            self.lose(error)
        except Unavailable:
            pass

    @property
    def owning(self) -> bool:
        """Whether this owner holds the partition now (a session with its epoch)."""
        return self.store is not None and self.store.usable

    @property
    def epoch(self) -> int | None:
        return self.store.epoch if self.store is not None and self.owning else None

    def release(self) -> None:
        """Hand the partition over (a planned move, a stop): nothing is pending between two
        batches, so clearing the lease lets the next owner take it at once, with epoch + 1."""
        if self.owning and self.store is not None:
            try:
                self.store.release()
            except psycopg.Error as error:
                log.warning("%s: the hand-over failed (%s); its lease runs out", self.name, str(error).strip()[:200])
        self.forget()

    def forget(self) -> None:
        """Close the session and drop memory: whoever owned the partition while this owner had no
        session may have written."""
        if self.store is not None:
            self.store.close()
        self.store = None
        self.memory.forget()

    def lose(self, error: Exception) -> None:
        log.warning("%s: database connection lost (%s); memory dropped", self.name, str(error).strip()[:200])
        self.forget()
