"""A group commit: the commands a shard took from its socket at once, decided in order, written in
one transaction.

Each command is decided against the state the earlier commands of the batch left (`states`, an
overlay on the shard's memory), so that a later one sees the effect of an earlier one. Nothing of
the batch reaches the shard's memory, and no reply leaves, before its COMMIT.
"""

from dataclasses import dataclass, field

from monclub import wire


@dataclass(frozen=True)
class Write:
    """What one command (or one timer, with no request id) writes: its events, the aggregate's
    state after them, and the encoded reply stored under the request id."""

    request_id: str | None
    events: list
    after: object
    reply: bytes | None


@dataclass
class Batch:
    states: dict[str, object] = field(default_factory=dict)
    writes: list[Write] = field(default_factory=list)
    replies: dict[str, dict] = field(default_factory=dict)
    dropped: set[str] = field(default_factory=set)

    def add(self, request_id: str | None, aggregate_id: str, events: list, after, reply: dict | None) -> None:
        if events:
            self.states[aggregate_id] = after
        if request_id is not None:
            self.replies[request_id] = reply
        self.writes.append(Write(request_id, events, after, None if reply is None else wire.encode(reply)))

    def drop(self, aggregate_id: str) -> None:
        """Reload this aggregate from PostgreSQL after the batch: a command on it failed unexpectedly
        (that command changed nothing, so the later ones still decide against `states`)."""
        self.dropped.add(aggregate_id)

    @property
    def request_ids(self) -> list[str]:
        return [write.request_id for write in self.writes if write.request_id is not None]
