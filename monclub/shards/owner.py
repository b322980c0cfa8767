"""The single owner, in memory, of the aggregates of one partition of a branch (a shard process
hosts several: monclub.shards.host routes each request to its partition's owner).

For each command: validate, decide against memory with the aggregate's pure core, write the
events and the reply in one transaction, and only after the commit keep the new state and
answer. Aggregates are loaded lazily on first use, so restarting a shard costs the same whatever
it owns. What differs between séances and prêts lives in a `Domain`; timers (the loans'
reminders) are state in PostgreSQL, found by `Store.due` and fired by `tick`. The store is opened
through `open_store`, so that the owner runs as well on the tests' in-memory double.

The owner is three concerns in three modules: its decisions and memory here, its session and
lease (monclub.shards.lease), and the end of each batch's transaction (monclub.shards.outcomes).
"""

import logging
import time
from collections.abc import Callable
from typing import NamedTuple

import psycopg

from monclub.cluster.ownership import FencedOut
from monclub.contract import protocol
from monclub.errors import MonclubError, Refus, Unavailable
from monclub.shards.batch import Batch
from monclub.shards.domain import Domain, outbox_records, partition_name
from monclub.shards.outcomes import WriteOutcomes
from monclub.shards.stats import Stats
from monclub.shards.store import AlreadyApplied, NotCommitted, Store

log = logging.getLogger(__name__)
TIMER_BACKOFF = 5.0


class Decided(NamedTuple):
    """A run of commands decided against memory, not written yet: the replies it sends once
    committed."""

    requests: list[protocol.Request]
    batch: Batch
    replies: list[dict | None]


class Owner(WriteOutcomes):
    """The single owner, in memory, of one partition's aggregates."""

    def __init__(
        self,
        domain: Domain,
        partition: int,
        open_store: Callable[[], Store],
        fault: str | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        stats: Stats | None = None,
    ):
        self.domain = domain
        self.partition = partition
        self.name = partition_name(domain.branch, partition)
        self.open_store = open_store
        self.clock = clock
        self.monotonic = monotonic
        self.store: Store | None = None
        self.aggregates: dict[str, object] = {}
        self.membres: set[int] = set()
        self.unresolved: set[str] = set()
        self.set_aside: dict[str, float] = {}
        self.pending: Batch | None = None
        self.handled = 0
        self.stats = stats or Stats()  # the process's, shared by the owners it hosts
        self.owned_until = 0.0
        self.waiting: str | None = None
        self.stale_memory = fault == "stale_memory"
        self.unpublished = False  # events committed since the relay was last woken

    def handle(self, request: protocol.Request) -> dict | None:
        return self.handle_batch([request])[0]

    def handle_batch(self, requests: list[protocol.Request]) -> list[dict | None]:
        """The replies, in order; None where an outcome is unknown for now (no answer: the client
        resends the same id, which is resolved once the database is back). Consecutive commands
        are committed together; a query first commits the commands before it, so that it answers
        from committed state."""
        self.handled += len(requests)
        replies, run = [], []
        for request in requests:
            if request.mutates:
                run.append(request)
                continue
            replies += self._commands(run)
            run = []
            replies.append(self._query(request))
        replies += self._commands(run)
        self.stats.answered([request.op for request in requests], replies)
        return replies

    def _query(self, request: protocol.Request) -> dict | None:
        """A query answered from memory at this owner's epoch, its refusal too (`seance_inconnue`,
        `livre_inconnu`), as every reply this owner decides."""
        try:
            aggregate_id = request.args[self.domain.key]
            self._sure_to_own()
            state = self.aggregate(aggregate_id)
            epoch = self._store().epoch
            try:
                return protocol.ok(request.id, self.domain.query(request.op, state, aggregate_id), epoch)
            except Refus as refus:
                return protocol.error(request.id, refus.code, refus.message, epoch)
        except MonclubError as error:
            return protocol.error(request.id, error.code, error.message)
        except FencedOut as error:
            self._lose_connection(error)
            return protocol.error(
                request.id, "unavailable", f"{self.name} no longer owns this partition; retry shortly"
            )
        except psycopg.Error as error:
            self._lose_connection(error)
            return protocol.error(request.id, "unavailable", "database error; retry shortly")

    def take_unpublished(self) -> bool:
        """Whether this owner committed events since it was last asked (the host then wakes the
        relay, once its replies are sent)."""
        unpublished, self.unpublished = self.unpublished, False
        return unpublished

    def tick(self) -> None:
        """Fire every timer due now, each in a transaction of its own (no request, no reply).
        A timer that fails is logged and set aside for TIMER_BACKOFF seconds, so that it neither
        takes the shard down nor starves the others. It also takes the partition if it does not
        own it yet, and renews the lease a third of a lease before it ends."""
        self._keep_lease()
        echoir = getattr(self.domain, "echoir", None)
        if echoir is None:
            return
        now = self.clock()
        try:
            for aggregate_id in self._store().due(now):
                if self.set_aside.get(aggregate_id, 0.0) > now:
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
            self._lose_connection(error)

    def _fire(self, echoir: Callable[[object, float], list], aggregate_id: str, now: float) -> None:
        before = self.aggregate(aggregate_id)
        events = echoir(before, now) if before is not None else []
        if not events:
            return
        batch = Batch()
        after = self.domain.apply(before, events)
        batch.add(None, aggregate_id, events, after, None, outbox_records(self.domain, events, after))
        if self.write(batch) is not None and self.store is not None:
            self._set_aside(aggregate_id, now)

    def _set_aside(self, aggregate_id: str, now: float) -> None:
        self._drop(aggregate_id)
        self.set_aside[aggregate_id] = now + TIMER_BACKOFF

    def status(self) -> dict:
        """What `status` shows of this partition: its epoch while it is owned here, or why not."""
        epoch = self.store.epoch if self.store is not None and self.store.usable else None
        return {
            "partition": self.partition,
            "epoch": epoch,
            "waiting": self.waiting,
            "loaded": len(self.aggregates),
            "handled": self.handled,
        }

    def aggregate(self, aggregate_id: str):
        """The aggregate as the batch being decided left it, else as committed (loaded on first
        use); None if it does not exist."""
        if self.pending is not None and aggregate_id in self.pending.states:
            return self.pending.states[aggregate_id]
        if aggregate_id not in self.aggregates:
            self.aggregates.update(self._store().load_all([aggregate_id]))
        return self.aggregates.get(aggregate_id)

    def membre(self, membre: int) -> None:
        """Check that a membre exists (once: known membres are remembered), or raise Refus."""
        if membre in self.membres:
            return
        if not self._store().membre_exists(membre):
            raise Refus(f"no membre {membre}", "membre_inconnu")
        self.membres.add(membre)

    def _check_membre(self, batch: Batch, request: protocol.Request) -> None:
        """What the host knows of the membre a command names, before the domain decides. It is
        taken on trust first, which saves a round trip per new membre: every accepted command
        writes its membre into a column that references `membres`, so PostgreSQL checks it in the
        batch's own transaction, and a batch naming an unknown one fails and is retried command by
        command, each checked here (a refused command is checked by `_membre_first`)."""
        membre = request.args.get("membre")
        if membre is not None and not batch.trusting:
            self.membre(membre)

    def _prefetch(self, requests: list[protocol.Request]) -> None:
        """Load, in one query, the aggregates a batch needs that are not in memory."""
        missing = {request.args[self.domain.key] for request in requests} - self.aggregates.keys()
        if missing:
            self.aggregates.update(self._store().load_all(sorted(missing)))

    def decide_commands(self, requests: list[protocol.Request]) -> Decided | list[dict | None]:
        """A run of commands decided, not written yet, for the host to write with other
        partitions' in one transaction (monclub.shards.shared_commit); their replies at once when
        nothing can be written. `conclude_commands` gives the replies once the write is done."""
        self.handled += len(requests)
        decided = self._decided(requests)
        if isinstance(decided, list):
            self.stats.answered([request.op for request in requests], decided)
        return decided

    def conclude_commands(self, decided: Decided, failure: Exception | None) -> list[dict | None]:
        """The replies of decided commands, given how their write ended (None: committed)."""
        replies = self._concluded(decided, failure)
        self.stats.answered([request.op for request in decided.requests], replies)
        return replies

    def _commands(
        self, requests: list[protocol.Request], trusting: bool = True, reloaded: bool = False
    ) -> list[dict | None]:
        """Decide each command in order, write them all in one transaction, and only then keep
        the new states."""
        decided = self._decided(requests, trusting, reloaded)
        if isinstance(decided, list):
            return decided
        return self._concluded(decided, self.write(decided.batch))

    def _decided(
        self, requests: list[protocol.Request], trusting: bool = True, reloaded: bool = False
    ) -> Decided | list[dict | None]:
        if not requests:
            return []
        self.pending = batch = Batch(trusting=trusting, reloaded=reloaded)
        try:
            epoch = self._store().epoch
            self._prefetch(requests)
            replies: list[dict | None] = [self._decide(batch, request, epoch) for request in requests]
        except Unavailable as error:
            return [self._unreachable(request, error.message) for request in requests]
        except psycopg.Error as error:
            self._lose_connection(error)
            return [self._unreachable(request, "database error; nothing was committed") for request in requests]
        finally:
            self.pending = None
        return Decided(requests, batch, replies)

    def _concluded(self, decided: Decided, failure: Exception | None) -> list[dict | None]:
        """The replies once the write is done. If it failed without losing the connection (a
        request id already applied, a refused write), each command is tried again in a
        transaction of its own, its membre checked first; refused again, its aggregate is loaded
        again from PostgreSQL (rows written behind the owner's back) and the command decided once
        more on what is there; a third refusal is an internal error, never a loop."""
        requests, batch, replies = decided.requests, decided.batch, decided.replies
        if failure is None:
            return replies
        if isinstance(failure, (FencedOut, NotCommitted)):
            message = (
                f"{self.name} no longer owns this partition (another process took it); nothing was committed"
                if isinstance(failure, FencedOut)
                else "database connection ended by the server before commit; nothing was committed"
            )
            return [self._unreachable(request, message) for request in requests]
        if self.store is None:
            return self._resolved(batch, requests, replies)
        if isinstance(failure, AlreadyApplied) and len(requests) == 1:
            return self._resolved(batch, requests, replies)
        if len(requests) > 1 or batch.trusting:
            return [reply for request in requests for reply in self._commands([request], trusting=False)]
        aggregate_id = requests[0].args[self.domain.key]
        self._drop(aggregate_id)
        if not batch.reloaded:
            log.warning(
                "%s: the write on %s was refused (%s); decided again on it as stored", self.name, aggregate_id, failure
            )
            return self._commands(requests, trusting=False, reloaded=True)
        log.error("%s: the write on %s was refused again and rolled back (%s)", self.name, aggregate_id, failure)
        return [
            protocol.error(
                requests[0].id, "internal_error", f"the write on {aggregate_id} failed; nothing was committed"
            )
        ]

    def _decide(self, batch: Batch, request: protocol.Request, epoch: int) -> dict:
        """One command's reply at `epoch`, its write added to the batch (refusals are stored too)."""
        aggregate_id = request.args[self.domain.key]
        earlier = batch.earlier_reply(request)
        if earlier is not None:
            return earlier
        try:
            self._check_membre(batch, request)
            before = self.aggregate(aggregate_id)
            events = self.domain.decide(before, request, self.clock())
            after = self.domain.apply(before, events)
            reply = protocol.ok(request.id, self.domain.result(request.op, events, after), epoch)
        except Refus as refus:
            events, after = [], None
            refus = self._membre_first(request, refus)
            reply = protocol.error(request.id, refus.code, refus.message, epoch)
        except (Unavailable, psycopg.Error):
            raise
        except MonclubError as error:
            return protocol.error(request.id, error.code, error.message)
        except Exception:
            log.exception("%s: command %s on %s failed; dropped from memory", self.name, request.op, aggregate_id)
            batch.drop(aggregate_id)
            return protocol.error(
                request.id, "internal_error", f"internal error on {aggregate_id}; nothing was committed"
            )
        batch.add(request, aggregate_id, events, after, reply, outbox_records(self.domain, events, after))
        if events and "membre" in request.args:
            batch.membres.add(request.args["membre"])
        return reply

    def _membre_first(self, request: protocol.Request, refus: Refus) -> Refus:
        """A refused command names an unknown membre: say that, as a command decided alone would."""
        membre = request.args.get("membre")
        if membre is None or membre in self.membres or refus.code == "membre_inconnu":
            return refus
        if not self._store().membre_exists(membre):
            return Refus(f"no membre {membre}", "membre_inconnu")
        self.membres.add(membre)
        return refus
