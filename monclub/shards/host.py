"""A shard process's handler: the owners of the partitions this process hosts.

A branch has a fixed number of partitions (chosen when the database is created); each shard
process hosts the owners of several (monclub.shards.owner). The host routes each request to the
owner of its aggregate's partition, a batch split by partition (the order between partitions does
not matter, their aggregates are distinct). The commands of several partitions are committed in
one transaction (monclub.shards.shared_commit); a partition whose part holds a query commits its own. A
request for a partition that this process does not host, or does not own yet while another
process does, is answered `wrong_owner`, naming the owner the directory knows, so that the client
goes there at once. `ping` and `directory` are the process's own.

Which partitions it hosts follows the assignment (monclub.cluster.membership): at each tick it
starts hosting the partitions it should (their owners take them as soon as PostgreSQL lets them)
and hands over at most MOVES_PER_TICK of those it owns and should no longer host (so that a node
joining or leaving moves a bounded number of partitions at once). On stop it hands over all.
"""

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from monclub import compiled
from monclub.cluster.partition import partition_of
from monclub.contract import protocol
from monclub.db import close_ahead, taken_ahead
from monclub.shards.domain import Domain, partition_name
from monclub.shards.memory import Residency
from monclub.shards.owner import Owner
from monclub.shards.shared_commit import commit_together
from monclub.shards.stats import Stats
from monclub.shards.waker import RelayWaker


class Directory(Protocol):
    def entries(self) -> list[dict]:
        """Each owned partition: {partition, endpoint, node, epoch, lease_left}."""

    def owner_of(self, partition: int) -> dict | None: ...

    def close(self) -> None: ...


MOVES_PER_TICK = 1


def together(calls: list[Callable[[], Any]]) -> list[Any]:
    """The calls' results, in order, the calls run at once on threads of their own (a single one
    inline); the first exception is raised once all have ended."""
    if len(calls) < 2:
        return [call() for call in calls]
    with ThreadPoolExecutor(len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
    return [future.result() for future in futures]


class ShardHost:
    """`make_owner(partition)` makes the owner of a partition this process starts hosting;
    `assignment()` says which partitions it should host (None: unknown for now, keep them)."""

    def __init__(
        self,
        domain: Domain,
        name: str,
        endpoint: str,
        partitions: int,
        make_owner: Callable[[int], Owner],
        assignment: Callable[[], set[int] | None],
        directory: Directory,
        first: list[int],
        stats: Stats | None = None,
        waker: RelayWaker | None = None,
        residency: Residency | None = None,
    ):
        self.domain = domain
        self.name = name
        self.endpoint = endpoint
        self.partitions = partitions
        self.make_owner = make_owner
        self.assignment = assignment
        self.directory = directory
        self.stats = stats or Stats()  # the owners' make_owner shares it with them
        self.residency = residency or Residency()  # and this one too: what the process keeps loaded
        self.waker = waker
        self.owners = {partition: make_owner(partition) for partition in first}
        self.ticks = 0

    def handle(self, request: protocol.Request) -> dict | None:
        return self.handle_batch([request])[0]

    def handle_batch(self, requests: list[protocol.Request]) -> list[dict | None]:
        """The replies, in order (None where an owner does not know the outcome yet)."""
        replies: list[dict | None] = [None] * len(requests)
        by_partition: dict[int, list[int]] = {}
        elsewhere: dict[int, dict | None] = {}  # each partition's, looked up once per batch
        for position, request in enumerate(requests):
            if request.op in ("ping", "directory"):
                replies[position] = protocol.ok(request.id, self._ping() if request.op == "ping" else self._directory())
                continue
            partition = partition_of(request.args[self.domain.key], self.partitions)
            if partition not in elsewhere:
                elsewhere[partition] = self._owned_elsewhere(partition)
            if partition in self.owners and elsewhere[partition] is None:
                by_partition.setdefault(partition, []).append(position)
            else:
                replies[position] = self._wrong_owner(request, partition, elsewhere[partition])
        commands = [p for p, positions in by_partition.items() if all(requests[i].mutates for i in positions)]
        if len(commands) > 1:
            runs = [(self.owners[p], [requests[i] for i in by_partition[p]]) for p in commands]
            for partition, answered in zip(commands, commit_together(runs), strict=True):
                self._place(replies, by_partition.pop(partition), answered)
        for partition, positions in by_partition.items():
            self._place(replies, positions, self.owners[partition].handle_batch([requests[i] for i in positions]))
        return replies

    @staticmethod
    def _place(replies: list[dict | None], positions: list[int], answered: list[dict | None]) -> None:
        for position, reply in zip(positions, answered, strict=True):
            replies[position] = reply

    def after_replies(self) -> None:
        """Wake the relay for the events this batch or tick committed, once the replies are sent."""
        if any([owner.take_unpublished() for owner in self.owners.values()]) and self.waker is not None:
            self.waker.wake()

    def tick(self) -> None:
        """Follow the assignment, take the partitions not owned yet, then each owner's lease and
        timers; unload what was idle. The partitions not owned are taken together, a thread each
        (each has a session of its own: connected and taken one after the other, they kept a
        restarted process from answering 2 to 3 times longer). The first tick reads the live nodes
        meanwhile: a restarted process takes the partitions it hosts on a single node at once, and
        then hands over, as any tick does, those the assignment gives to another."""
        if self.ticks:
            self._follow(self.assignment())
            waiting = self._take_waiting([])
        else:
            waiting = self._take_waiting([self.assignment])
            close_ahead()  # a spare's sessions this shard did not need (monclub.supervision.spare)
        self.ticks += 1
        for owner in self.owners.values():
            owner.tick(kept=owner in waiting)
        self.residency.sweep()

    def _take_waiting(self, beside: list[Callable[[], set[int] | None]]) -> list[Owner]:
        """The owners that did not own their partition, each having tried to take it on a thread
        of its own, `beside` (the assignment) on one more, followed once it is read."""
        waiting = [owner for owner in self.owners.values() if not owner.owning]
        for owner in waiting:
            owner.lease.forget()  # here, not on the threads: the process's memory budget is shared
        results = together([*beside, *[owner.take for owner in waiting]])
        if beside:
            self._follow(results[0])
        return waiting

    def _follow(self, wanted: set[int] | None) -> None:
        """Host what the assignment `wanted` says (None: unknown for now, keep what is hosted)."""
        if wanted is None:
            return
        unwanted = sorted(self.owners.keys() - wanted)
        owned = [partition for partition in unwanted if self.owners[partition].owning]
        for partition in [p for p in unwanted if p not in owned] + owned[:MOVES_PER_TICK]:
            self.owners.pop(partition).release()
        for partition in sorted(wanted - self.owners.keys()):
            self.owners[partition] = self.make_owner(partition)

    def close(self) -> None:
        """Hand every partition over (a stop, a reload): whoever should host them next takes them
        at once instead of waiting for the leases to run out."""
        for owner in self.owners.values():
            owner.release()
        self.owners.clear()
        self.directory.close()
        if self.waker is not None:
            self.waker.close()

    def _owned_elsewhere(self, partition: int) -> dict | None:
        """The directory's entry of a partition this process does not own now while another
        process holds its lease (it has not handed it over yet, or this process should not host it)."""
        owner = self.owners.get(partition)
        if owner is not None and owner.owning:
            return None
        entry = self.directory.owner_of(partition)
        if entry is None or entry["endpoint"] == self.endpoint or entry["lease_left"] <= 0:
            return None
        return entry

    def _wrong_owner(self, request: protocol.Request, partition: int, owner: dict | None) -> dict:
        where = f"its owner listens at {owner['endpoint']}" if owner else "its owner is not known yet; retry shortly"
        aggregate = f"{self.domain.key} {request.args[self.domain.key]}"
        hosting = f"{partition_name(self.domain.branch, partition)}, not hosted by {self.name}"
        message = f"{aggregate} is in {hosting}: {where}"
        return protocol.error(request.id, "wrong_owner", message, owner=owner)

    def _ping(self) -> dict:
        """What `status` shows of this process: its partitions, their epochs, and why any is not
        owned here yet."""
        statuses = [owner.status() for owner in self.owners.values()]
        waiting = [status["waiting"] for status in statuses if status["waiting"]]
        return {
            "shard": self.name,
            "pid": os.getpid(),
            "compiled": compiled.running(),
            "sessions_ahead_taken": taken_ahead(),  # > 0: this process was the spare (monclub.supervision.spare)
            "loaded": sum(status["loaded"] for status in statuses),
            "handled": sum(status["handled"] for status in statuses),
            "partitions": [{key: status[key] for key in ("partition", "epoch", "waiting")} for status in statuses],
            "waiting": "; ".join(waiting) or None,
            "stats": self.stats.snapshot(),
        }

    def _directory(self) -> dict:
        return {"branch": self.domain.branch, "partitions": self.partitions, "owners": self.directory.entries()}
