"""An owner's timers (the loans' reminders): each due one fired in a transaction of its own, no
request and no reply. A collaborator of `monclub.shards.owner.Owner`.

Timers are state in PostgreSQL (`livres.prochaine_relance`), found at every tick by an indexed
query (`Store.due`), never held in memory: a copy unloaded for being idle still gets its reminders,
loaded again to fire them, and nothing needs to stay loaded for its timers' sake.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg

from monclub.errors import Unavailable
from monclub.shards.batch import Batch
from monclub.shards.domain import Domain, outbox_records
from monclub.shards.lease import Lease
from monclub.shards.memory import Memory
from monclub.shards.outcomes import Outcomes

log = logging.getLogger(__name__)
TIMER_BACKOFF = 5.0


@dataclass
class Timers:
    """`aggregate(id)`: the aggregate as committed, loaded if it is not in memory; `set_aside`: the
    timers that failed, until when they are skipped."""

    name: str
    domain: Domain
    aggregate: Callable[[str], object]
    lease: Lease
    memory: Memory
    outcomes: Outcomes
    set_aside: dict[str, float] = field(default_factory=dict)

    def fire(self, now: float) -> None:
        """Fire every timer due at `now`. One that fails is logged and set aside for TIMER_BACKOFF
        seconds, so that it neither takes the shard down nor starves the others; the set-aside
        ones whose time has passed are forgotten, so that the map holds only timers failing now."""
        echoir = getattr(self.domain, "echoir", None)
        if echoir is None:
            return
        self.set_aside = {aggregate_id: end for aggregate_id, end in self.set_aside.items() if end > now}
        try:
            for aggregate_id in self.lease.session().due(now):
                if aggregate_id in self.set_aside:
                    continue
                try:
                    self._fire(echoir, aggregate_id, now)
                except (Unavailable, psycopg.Error):
                    raise
                except Exception:
                    log.exception(
                        "%s: the timer of %s failed; retried in %.0fs", self.name, aggregate_id, TIMER_BACKOFF
                    )
                    self._set_aside(aggregate_id, now)
        except Unavailable:
            return
        except psycopg.Error as error:
            self.lease.lose(error)

    def _fire(self, echoir: Callable[[object, float], list], aggregate_id: str, now: float) -> None:
        before = self.aggregate(aggregate_id)
        events = echoir(before, now) if before is not None else []
        if not events:
            return
        batch = Batch()
        after = self.domain.apply(before, events)
        batch.add(None, aggregate_id, events, after, None, outbox_records(self.domain, events, after))
        if self.outcomes.write(batch) is not None and self.lease.store is not None:
            self._set_aside(aggregate_id, now)

    def _set_aside(self, aggregate_id: str, now: float) -> None:
        self.memory.drop(aggregate_id)
        self.set_aside[aggregate_id] = now + TIMER_BACKOFF
