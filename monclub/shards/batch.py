"""A group commit: the commands a shard took from its socket at once, decided in order, written in
one transaction.

Each command is decided against the state the earlier commands of the batch left (`states`, an
overlay on the shard's memory), so that a later one sees the effect of an earlier one. Nothing of
the batch reaches the shard's memory, and no reply leaves, before its COMMIT.
"""

from dataclasses import dataclass, field
from typing import NamedTuple

from monclub.contract import protocol
from monclub.wire import codec as wire
from monclub.wire.stored import REUSED, empreinte


class Write(NamedTuple):
    """What one command (or one timer, with no request id) writes: its events, their outbox records
    (type, aggregate, payload), and the encoded reply stored under the request id with the
    request's fingerprint. No aggregate state is kept per command: a batch on one séance holds its
    latest state once, in `states`. A named tuple: one per command, made at C speed (a frozen
    dataclass sets each field through object.__setattr__)."""

    request_id: str | None
    events: list
    records: list[tuple[str, str, dict]]
    reply: bytes | None
    empreinte: bytes | None = None


@dataclass
class Batch:
    """`trusting`: membres are taken on trust, checked by the transaction's foreign keys (else
    by `Owner.membre` first); `reloaded`: its aggregate was loaded again from PostgreSQL after a
    refused write; `membres` are those of its accepted commands, known to exist once it commits."""

    trusting: bool = False
    reloaded: bool = False
    membres: set[int] = field(default_factory=set)
    states: dict[str, object] = field(default_factory=dict)
    writes: list[Write] = field(default_factory=list)
    replies: dict[str, dict] = field(default_factory=dict)
    empreintes: dict[str, bytes] = field(default_factory=dict)
    dropped: set[str] = field(default_factory=set)

    def add(
        self,
        request: protocol.Request | None,
        aggregate_id: str,
        events: list,
        after,
        reply: dict | None,
        records: list[tuple[str, str, dict]],
    ) -> None:
        """Add one command's outcome (a timer's has no request): its events, the state they leave,
        its reply, and the outbox records of its events."""
        if events:
            self.states[aggregate_id] = after
        if request is None or reply is None:
            self.writes.append(Write(None, events, records, None))
            return
        self.replies[request.id] = reply
        self.empreintes[request.id] = fingerprint = empreinte(request)
        self.writes.append(Write(request.id, events, records, wire.encode(reply), fingerprint))

    def earlier_reply(self, request: protocol.Request) -> dict | None:
        """The reply to an earlier command of this batch sent with the same request id (or
        request_id_reused, if that command was another one); None if there is none."""
        if request.id not in self.replies:
            return None
        if self.empreintes[request.id] != empreinte(request):
            return protocol.error(request.id, "request_id_reused", REUSED)
        return self.replies[request.id]

    def drop(self, aggregate_id: str) -> None:
        """Reload this aggregate from PostgreSQL after the batch: a command on it failed unexpectedly
        (that command changed nothing, so the later ones still decide against `states`)."""
        self.dropped.add(aggregate_id)

    @property
    def request_ids(self) -> list[str]:
        return [write.request_id for write in self.writes if write.request_id is not None]
