"""What an owner keeps in memory, and how much of it a shard process keeps at all (passivation).

An owner remembers the aggregates it loaded and the membres it has seen exist; both are caches of
PostgreSQL, which its lease keeps true (nobody else writes its partition). So any of it may be
unloaded at any time between two batches, and the next command that needs it loads it again:
unloading costs a query, never a wrong decision. What is unloaded, as Orleans' idle deactivation
and Akka's passivation do: whatever was not used for `idle` seconds (default 900 s, Orleans'
default collection age), and beyond `max_loaded` entries per shard process (default 100,000) the
least recently used first, over all the partitions the process hosts, so that its memory stays
flat however many aggregates it ever touches.

The loans' timers need nothing in memory: the due reminders are found by an indexed query on
PostgreSQL at every tick (`Store.due`), and the copy is loaded again to fire them.
"""

import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable, Iterable

MAX_LOADED = 100_000
IDLE_SECONDS = 900.0


class Budget:
    """The bound on one kind of entry (aggregates, membres) over all the owners of a process: at
    most `limit` entries, none idle for more than `idle` seconds. `unloaded` counts what it
    unloaded, by cause (`idle`, `max_loaded`), when given."""

    def __init__(self, limit: int, idle: float, monotonic: Callable[[], float], unloaded: Counter | None = None):
        self.limit = limit
        self.idle = idle
        self.monotonic = monotonic
        self.unloaded = unloaded
        self.caches: set[Cache] = set()
        self.count = 0

    def trim(self) -> None:
        """Unload the least recently used entries, over every owner's, down to the limit. Each
        owner's cache is in the order of use, so the oldest of all is the oldest of their fronts."""
        while self.count > self.limit:
            oldest = min((cache for cache in self.caches if cache.entries), key=Cache.oldest)
            oldest.unload_first()
            self._unloaded("max_loaded")

    def sweep(self) -> None:
        """Unload every entry idle for more than `idle` seconds."""
        cutoff = self.monotonic() - self.idle
        for cache in self.caches:
            while cache.entries and cache.oldest() < cutoff:
                cache.unload_first()
                self._unloaded("idle")

    def _unloaded(self, cause: str) -> None:
        if self.unloaded is not None:
            self.unloaded[cause] += 1


class Cache:
    """One owner's entries of one kind, least recently used first, each with when it was last
    used; its budget bounds them with the other owners' of the process."""

    def __init__(self, budget: Budget):
        self.budget = budget
        self.entries: OrderedDict[Hashable, tuple[object, float]] = OrderedDict()
        budget.caches.add(self)

    def __contains__(self, key: Hashable) -> bool:
        return key in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, key: Hashable, default=None):
        """The entry, now the most recently used (`default` when it is not loaded)."""
        found = self.entries.get(key)
        if found is None:
            return default
        self.entries[key] = (found[0], self.budget.monotonic())
        self.entries.move_to_end(key)
        return found[0]

    def peek(self, key: Hashable, default=None):
        """The entry, as it is, without counting a use (for tests and logs)."""
        found = self.entries.get(key)
        return default if found is None else found[0]

    def put(self, items: Iterable[tuple[Hashable, object]]) -> None:
        """Keep these entries as the most recently used, then bring the process within its limit."""
        now = self.budget.monotonic()
        before = len(self.entries)
        for key, value in items:
            self.entries[key] = (value, now)
            self.entries.move_to_end(key)
        self.budget.count += len(self.entries) - before
        self.budget.trim()

    def pop(self, key: Hashable) -> None:
        if self.entries.pop(key, None) is not None:
            self.budget.count -= 1

    def clear(self) -> None:
        self.budget.count -= len(self.entries)
        self.entries.clear()

    def retire(self) -> None:
        """This owner is gone (its partition handed over): its entries leave the budget."""
        self.clear()
        self.budget.caches.discard(self)

    def oldest(self) -> float:
        return next(iter(self.entries.values()))[1]

    def unload_first(self) -> None:
        self.entries.popitem(last=False)
        self.budget.count -= 1


class Residency:
    """What one shard process keeps loaded, over all the partitions it hosts: its aggregates and
    the membres its owners have seen exist, each kind bounded by `max_loaded` and `idle`.
    `unloaded` counts the aggregates unloaded since the process started (the ping's stats)."""

    def __init__(
        self,
        max_loaded: int = MAX_LOADED,
        idle: float = IDLE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        unloaded: Counter | None = None,
    ):
        self.aggregates = Budget(max_loaded, idle, monotonic, unloaded)
        self.membres = Budget(max_loaded, idle, monotonic)

    def sweep(self) -> None:
        """Unload what was idle too long (at each tick of the process)."""
        self.aggregates.sweep()
        self.membres.sweep()


class Memory:
    """One owner's memory: its aggregates and the membres known to exist, bounded by the process's
    `Residency`. `stale` is the injected
    fault `stale_memory`: a broken owner that keeps its aggregates when it should drop them, for
    drills that test the auditor."""

    def __init__(self, residency: Residency, stale: bool = False):
        self.aggregates = Cache(residency.aggregates)
        self.membres = Cache(residency.membres)
        self.stale = stale

    def keep(self, states: dict[str, object]) -> None:
        self.aggregates.put(states.items())

    def know(self, membres: Iterable[int]) -> None:
        self.membres.put((membre, True) for membre in membres)

    def drop(self, aggregate_id: str) -> None:
        """Forget one aggregate; it is loaded again from PostgreSQL on its next message."""
        if not self.stale:
            self.aggregates.pop(aggregate_id)

    def forget(self) -> None:
        """Drop everything: whoever owned the partition while this owner had no session may have
        written (the fault `stale_memory` keeps the aggregates)."""
        if not self.stale:
            self.aggregates.clear()
        self.membres.clear()

    def retire(self) -> None:
        self.aggregates.retire()
        self.membres.retire()
