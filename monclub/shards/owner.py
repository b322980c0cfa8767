"""The single owner, in memory, of the aggregates of one partition of a branch (a shard process
hosts several: monclub.shards.host routes each request to its partition's owner).

For each command: validate, decide against memory with the aggregate's pure core, write the
events and the reply in one transaction, and only after the commit keep the new state and
answer. Aggregates are loaded lazily on first use, so restarting a shard costs the same whatever
it owns. What differs between séances and prêts lives in a `Domain`. The store is opened through
`open_store`, so that the owner runs as well on the tests' in-memory double.

The owner decides; its collaborators hold the rest: its memory, bounded per process and unloaded
when idle (monclub.shards.memory), its session and lease (monclub.shards.lease), the end of each
batch's transaction (monclub.shards.outcomes), the membres it knows (monclub.shards.membres) and
its timers (monclub.shards.timers). A batch shared with other partitions' owners goes through two
calls: `decide`, then `conclude` once the shared transaction has ended.
"""

import logging
import time
from collections.abc import Callable

import psycopg

from monclub.cluster.ownership import FencedOut
from monclub.contract import protocol
from monclub.errors import MonclubError, Refus, Unavailable
from monclub.shards.batch import Batch
from monclub.shards.domain import Domain, outbox_records, partition_name
from monclub.shards.lease import Lease
from monclub.shards.membres import Membres
from monclub.shards.memory import Memory, Residency
from monclub.shards.outcomes import Decided, Ended, Outcomes
from monclub.shards.stats import Stats
from monclub.shards.store import AlreadyApplied, NotCommitted, Store
from monclub.shards.timers import Timers

log = logging.getLogger(__name__)


class Owner:
    """The single owner, in memory, of one partition's aggregates. `residency`: what the process
    keeps loaded over all its owners (a private one when not given)."""

    def __init__(
        self,
        domain: Domain,
        partition: int,
        open_store: Callable[[], Store],
        fault: str | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        stats: Stats | None = None,
        residency: Residency | None = None,
    ):
        self.domain = domain
        self.partition = partition
        self.name = partition_name(domain.branch, partition)
        self.clock = clock
        self.stats = stats or Stats()  # the process's, shared by the owners it hosts
        self.memory = Memory(residency or Residency(monotonic=monotonic), stale=fault == "stale_memory")
        self.lease = Lease(self.name, open_store, monotonic, self.memory)
        self.outcomes = Outcomes(self.lease, self.memory, self.stats)
        self.membres = Membres(self.lease, self.memory)
        self.timers = Timers(self.name, domain, self.aggregate, self.lease, self.memory, self.outcomes)
        self.pending: Batch | None = None
        self.handled = 0

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

    def decide(self, requests: list[protocol.Request]) -> Decided | list[dict | None]:
        """A run of commands decided, not written yet, for the host to write with other
        partitions' in one transaction (monclub.shards.shared_commit); their replies at once when
        nothing can be written. `conclude` gives the replies once the write is done."""
        self.handled += len(requests)
        decided = self._decided(requests)
        if isinstance(decided, list):
            self.stats.answered([request.op for request in requests], decided)
        return decided

    def conclude(self, decided: Decided, ended: Ended | None = None) -> list[dict | None]:
        """The replies of decided commands once their transaction `ended`; None: it was not
        written (a shared transaction rolled back by another part), so this owner writes them
        on its own session first."""
        replies = self._concluded(decided, ended)
        self.stats.answered([request.op for request in decided.requests], replies)
        return replies

    def _query(self, request: protocol.Request) -> dict | None:
        """A query answered from memory at this owner's epoch, its refusal too (`seance_inconnue`,
        `livre_inconnu`), as every reply this owner decides."""
        try:
            aggregate_id = request.args[self.domain.key]
            self.lease.sure_to_own()
            state = self.aggregate(aggregate_id)
            epoch = self.lease.session().epoch
            try:
                return protocol.ok(request.id, self.domain.query(request.op, state, aggregate_id), epoch)
            except Refus as refus:
                return protocol.error(request.id, refus.code, refus.message, epoch)
        except MonclubError as error:
            return protocol.error(request.id, error.code, error.message)
        except FencedOut as error:
            self.lease.lose(error)
            return protocol.error(
                request.id, "unavailable", f"{self.name} no longer owns this partition; retry shortly"
            )
        except psycopg.Error as error:
            self.lease.lose(error)
            return protocol.error(request.id, "unavailable", "database error; retry shortly")

    def tick(self, kept: bool = False) -> None:
        """Take the partition if it is not owned yet, renew the lease a third of a lease before
        it ends (unless `kept`: the host has just tried to take it), and fire the timers due now."""
        if not kept:
            self.lease.keep()
        self.timers.fire(self.clock())

    def take(self) -> None:
        """Try to take the partition, not owned now: the host runs several at once, on threads, so
        this touches this owner's session alone (its memory is already dropped, `Lease.forget`)."""
        self.lease.keep()

    @property
    def owning(self) -> bool:
        return self.lease.owning

    def release(self) -> None:
        """Hand the partition over; this owner's memory leaves the process's."""
        self.lease.release()
        self.memory.retire()

    def take_unpublished(self) -> bool:
        return self.outcomes.take_unpublished()

    def status(self) -> dict:
        """What `status` shows of this partition: its epoch while it is owned here, or why not."""
        return {
            "partition": self.partition,
            "epoch": self.lease.epoch,
            "waiting": self.lease.waiting,
            "loaded": len(self.memory.aggregates),
            "handled": self.handled,
        }

    def aggregate(self, aggregate_id: str):
        """The aggregate as the batch being decided left it, else as committed (loaded on first
        use, or again once unloaded); None if it does not exist."""
        if self.pending is not None and aggregate_id in self.pending.states:
            return self.pending.states[aggregate_id]
        if aggregate_id not in self.memory.aggregates:
            found = self.lease.session().load_all([aggregate_id])
            self.memory.keep(found)
            return found.get(aggregate_id)
        return self.memory.aggregates.get(aggregate_id)

    def _prefetch(self, requests: list[protocol.Request]) -> None:
        """Load, in one query, the aggregates a batch needs that are not in memory."""
        missing = {request.args[self.domain.key] for request in requests}
        missing = {aggregate_id for aggregate_id in missing if aggregate_id not in self.memory.aggregates}
        if missing:
            self.memory.keep(self.lease.session().load_all(sorted(missing)))

    def _commands(
        self, requests: list[protocol.Request], trusting: bool = True, reloaded: bool = False
    ) -> list[dict | None]:
        """Decide each command in order, write them all in one transaction, and only then keep
        the new states."""
        decided = self._decided(requests, trusting, reloaded)
        return decided if isinstance(decided, list) else self._concluded(decided, None)

    def _decided(
        self, requests: list[protocol.Request], trusting: bool = True, reloaded: bool = False
    ) -> Decided | list[dict | None]:
        if not requests:
            return []
        self.pending = batch = Batch(trusting=trusting, reloaded=reloaded)
        try:
            store = self.lease.session()
            self._prefetch(requests)
            replies: list[dict | None] = [self._decide(batch, request, store.epoch) for request in requests]
        except Unavailable as error:
            return [self.outcomes.unreachable(request, error.message) for request in requests]
        except psycopg.Error as error:
            self.lease.lose(error)
            message = "database error; nothing was committed"
            return [self.outcomes.unreachable(request, message) for request in requests]
        finally:
            self.pending = None
        return Decided(requests, batch, replies, store)

    def _concluded(self, decided: Decided, ended: Ended | None) -> list[dict | None]:
        """The replies once the write is done (written here first when `ended` is None). If it
        failed without losing the connection (a request id already applied, a refused write),
        each command is tried again in a transaction of its own, its membre checked first;
        refused again, its aggregate is loaded again from PostgreSQL (rows written behind the
        owner's back) and the command decided once more on what is there; a third refusal is an
        internal error, never a loop."""
        requests, batch, replies = decided.requests, decided.batch, decided.replies
        failure = self.outcomes.write(batch) if ended is None else self.outcomes.settle(batch, ended)
        if failure is None:
            return replies
        if isinstance(failure, (FencedOut, NotCommitted)):
            message = (
                f"{self.name} no longer owns this partition (another process took it); nothing was committed"
                if isinstance(failure, FencedOut)
                else "database connection ended by the server before commit; nothing was committed"
            )
            return [self.outcomes.unreachable(request, message) for request in requests]
        if self.lease.store is None or (isinstance(failure, AlreadyApplied) and len(requests) == 1):
            return self.outcomes.resolved(batch, requests, replies)
        if len(requests) > 1 or batch.trusting:
            return [reply for request in requests for reply in self._commands([request], trusting=False)]
        aggregate_id = requests[0].args[self.domain.key]
        self.memory.drop(aggregate_id)
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
            self.membres.check(batch, request)
            before = self.aggregate(aggregate_id)
            events = self.domain.decide(before, request, self.clock())
            after = self.domain.apply(before, events)
            reply = protocol.ok(request.id, self.domain.result(request.op, events, after), epoch)
        except Refus as refus:
            events, after = [], None
            refus = self.membres.first(request, refus)
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
