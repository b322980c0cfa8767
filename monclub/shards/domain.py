"""What the generic owner is handed by a branch: its `Domain` (all pure), how its events read in
the outbox, and the names of its shard processes and partitions."""

from typing import Protocol

from monclub.contract import protocol
from monclub.db.outbox import event_payload


def place(branch: str, index: int) -> str:
    """A shard process's place in the tree, as `ps`, logs and `status` show it: `reunions/shard-2`."""
    return f"{branch}/shard-{index}"


def partition_name(branch: str, partition: int) -> str:
    """A partition as logs and replies name it: `reunions/partition-5`."""
    return f"{branch}/partition-{partition}"


class Domain(Protocol):
    """What differs between branches, all pure: the host hands it states and requests.
    A domain whose aggregates have timers also has `echoir(state, now) -> events`."""

    branch: str
    key: str
    ops: protocol.Ops

    def decide(self, state, request: protocol.Request, now: float) -> list:
        """The events of a command on `state` (None when the aggregate does not exist), or raise Refus."""

    def apply(self, before, events: list): ...

    def result(self, op: str, events: list, after) -> dict: ...

    def query(self, op: str, state, aggregate_id: str) -> dict: ...

    def describe(self, event, after) -> tuple[str, dict]:
        """The aggregate an event belongs to (`seance/polar`), and the facts of `after` that its
        listeners read with its fields (a titre, a tarif), so that they need not look them up."""


def outbox_records(domain: Domain, events: list, after) -> list[tuple[str, str, dict]]:
    """How events read in the outbox: (type, aggregate, payload), the payload being the event's
    fields (the outbox's format, which the domain does not know) and the facts it adds."""
    found = []
    for event in events:
        kind, fields = event_payload(event)
        aggregate, facts = domain.describe(event, after)
        found.append((kind, aggregate, {**fields, **facts}))
    return found
