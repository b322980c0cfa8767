"""A shard process's handler: the owners of the partitions this process hosts.

A branch has a fixed number of partitions (chosen when the database is created); each shard
process hosts the owners of several (monclub.shards.owner). The host routes each request to the
owner of its aggregate's partition, a batch split by partition (each owner commits its own part in
one transaction; the order between partitions does not matter, their aggregates are distinct). A
request for a partition that this process does not host is answered `wrong_owner`, naming the
owner the directory knows, so that the client goes there at once. `ping` and `directory` are the
process's own.
"""

import os
from typing import Protocol

from monclub import protocol
from monclub.partition import partition_of
from monclub.shards.owner import Domain, Owner, partition_name


class Directory(Protocol):
    def entries(self) -> list[dict]:
        """Each owned partition: {partition, endpoint, node, epoch, lease_left}."""

    def owner_of(self, partition: int) -> dict | None: ...

    def close(self) -> None: ...


class ShardHost:
    def __init__(self, domain: Domain, name: str, partitions: int, owners: list[Owner], directory: Directory):
        self.domain = domain
        self.name = name
        self.partitions = partitions
        self.owners = {owner.partition: owner for owner in owners}
        self.directory = directory

    def handle(self, request: protocol.Request) -> dict | None:
        return self.handle_batch([request])[0]

    def handle_batch(self, requests: list[protocol.Request]) -> list[dict | None]:
        """The replies, in order (None where an owner does not know the outcome yet)."""
        replies: list[dict | None] = [None] * len(requests)
        by_partition: dict[int, list[int]] = {}
        for position, request in enumerate(requests):
            if request.op in ("ping", "directory"):
                replies[position] = protocol.ok(request.id, self._ping() if request.op == "ping" else self._directory())
                continue
            partition = partition_of(request.args[self.domain.key], self.partitions)
            if partition in self.owners:
                by_partition.setdefault(partition, []).append(position)
            else:
                replies[position] = self._wrong_owner(request, partition)
        for partition, positions in by_partition.items():
            answered = self.owners[partition].handle_batch([requests[position] for position in positions])
            for position, reply in zip(positions, answered, strict=True):
                replies[position] = reply
        return replies

    def tick(self) -> None:
        """Each owner's timers and lease."""
        for owner in self.owners.values():
            owner.tick()

    def _wrong_owner(self, request: protocol.Request, partition: int) -> dict:
        owner = self.directory.owner_of(partition)
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
            "loaded": sum(status["loaded"] for status in statuses),
            "handled": sum(status["handled"] for status in statuses),
            "partitions": [{key: status[key] for key in ("partition", "epoch", "waiting")} for status in statuses],
            "waiting": "; ".join(waiting) or None,
        }

    def _directory(self) -> dict:
        return {"branch": self.domain.branch, "partitions": self.partitions, "owners": self.directory.entries()}
