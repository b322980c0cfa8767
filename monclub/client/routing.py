"""Where a client's request goes: the partition of its aggregate, and the owner of that partition
as the client last learned it (docs/protocol.md, section 2). Shared by both transports.

A request is checked by its shard's own op table before it is sent (InvalidField). It goes first to
the shard process of this configuration that hosts its partition (monclub.cluster.partition.host_of); a
`wrong_owner` reply names the owner the directory knows, which the client remembers (`Owners`) and
resends to at once, same request id. An attempt left unanswered makes the client forget every
owner it remembered on that node (a node stops, freezes or is cut off as a whole), so that the
next attempt asks the first guess again, which redirects.
"""

import uuid
from dataclasses import dataclass

from monclub import config as configuration
from monclub import registry
from monclub.accueil.ops import OPS as ACCUEIL_OPS
from monclub.cluster.partition import host_of, partition_of
from monclub.contract import protocol


def new_request_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Route:
    """Where a request goes (its partition, None for a process's own op, and the endpoint to try
    first), and for a mutation the command that shows whether it was applied."""

    branch: str
    partition: int | None
    guess: str
    shows: str | None = None

    @property
    def place(self) -> str:
        return self.branch if self.partition is None else f"{self.branch}/partition-{self.partition}"


def route_request(
    config: configuration.Config, branch: str, op: str, key: str, request_id: str | None, fields: dict
) -> tuple[Route, dict]:
    """The request checked by the shard's own op table, and where it goes first."""
    declared = registry.branch(branch)
    message = protocol.request(request_id or new_request_id(), op, **{declared.key: key}, **fields)
    parsed = declared.ops().parse(message)
    partition = partition_of(key, config.partition_count(branch))
    guess = config.endpoint(branch, host_of(partition, config.shard_count(branch)))
    shows = f"{declared.shown_by} {key}" if parsed.mutates else None
    return Route(branch, partition, guess, shows), message


_ACCUEIL_SHOWS = {"creer_membre": "monclub membre liste", "regler_paiement": "monclub paiements"}


def accueil_request(config: configuration.Config, op: str, request_id: str | None, fields: dict) -> tuple[Route, dict]:
    """A request to the accueil (docs/protocol.md, section 14), checked by its op table."""
    message = protocol.request(request_id or new_request_id(), op, **fields)
    shows = _ACCUEIL_SHOWS.get(op) if ACCUEIL_OPS.parse(message).mutates else None
    return Route("accueil", None, config.service_endpoint("accueil"), shows), message


def node_of(endpoint: str) -> str:
    """The node an endpoint belongs to: the host of a tcp endpoint, the run directory of an ipc one."""
    kind, _, address = endpoint.partition("://")
    return address.rpartition(":" if kind == "tcp" else "/")[0]


class Owners:
    """The owner of each partition as this client last learned it."""

    def __init__(self) -> None:
        self.known: dict[tuple[str, int], str] = {}
        self.redirects = 0

    def endpoint(self, route: Route) -> str:
        """Where the request goes now: the owner last named for its partition, else the guess."""
        if route.partition is None:
            return route.guess
        return self.known.get((route.branch, route.partition), route.guess)

    def redirected(self, route: Route, error: dict) -> bool:
        """Remember the owner a `wrong_owner` reply names; True if it is another endpoint than
        the one just asked (resend there at once)."""
        owner = error.get("owner") if error.get("code") == "wrong_owner" else None
        if route.partition is None or not isinstance(owner, dict) or not isinstance(owner.get("endpoint"), str):
            return False
        key = (route.branch, route.partition)
        moved = self.known.get(key, route.guess) != owner["endpoint"]
        self.known[key] = owner["endpoint"]
        self.redirects += moved
        return moved

    def forget_node(self, endpoint: str) -> None:
        """Forget every owner remembered on the node of `endpoint`, which left an attempt unanswered."""
        node = node_of(endpoint)
        for key in [key for key, owner in self.known.items() if node_of(owner) == node]:
            del self.known[key]
