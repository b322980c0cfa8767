"""Lazy Pirate for one call, without I/O, and the one send loop that both transports drive.

`Attempts` holds a call's state: one request id on every attempt, how long each may wait, what a
reply means, the jittered backoff before the next, and the error once the deadline has passed.
`exchange` is the loop, written once as a generator (as psycopg's generators are): it yields each
step to take (check that the endpoint can answer, send and wait for a reply, pause), and its
driver, blocking (monclub.client.sync) or asyncio (monclub.client.aio), does the step and sends
back what it got.
"""

import random
from collections.abc import Callable, Generator
from dataclasses import dataclass

from monclub.client.routing import Owners, Route
from monclub.errors import InvalidRequest, MonclubError, Refus, Timeout, Unavailable, is_refusal
from monclub.wire import codec as wire

_BACKOFF_BASE = 0.02
_BACKOFF_MAX = 0.5
_REDIRECTS_MAX = 8
REDIRECT = object()  # an outcome: resend at once, to the owner a `wrong_owner` reply named


def error_from(code: str, message: str) -> MonclubError:
    if is_refusal(code):
        return Refus(message, code)
    if code == "invalid_request":
        return InvalidRequest(message)
    if code == "unavailable":
        return Unavailable(message)
    return MonclubError(message, code)


@dataclass(frozen=True)
class Reach:
    """Check that something listens at `endpoint`, or will again (raise when nothing will)."""

    endpoint: str
    unanswered: int


@dataclass(frozen=True)
class Send:
    """Send the call's payload to `endpoint`; send back its reply, or None after `timeout` s."""

    endpoint: str
    timeout: float


@dataclass(frozen=True)
class Pause:
    """Wait `seconds` before the next attempt."""

    seconds: float


def exchange(attempts: "Attempts", now: Callable[[], float]) -> Generator[Reach | Send | Pause, dict | None, dict]:
    """The call's steps until its result (the generator's return value) or its error (raised)."""
    while True:
        endpoint = attempts.endpoint()
        yield Reach(endpoint, attempts.unanswered)
        reply = yield Send(endpoint, attempts.timeout(now()))
        result = attempts.outcome(reply, endpoint)
        if result is REDIRECT:
            continue
        if result is not None:
            return result
        pause = attempts.pause(now())
        if pause is None:
            raise attempts.gave_up()
        yield Pause(pause)


class Attempts:
    """A call's attempts: see the module's docstring."""

    def __init__(
        self, route: Route, message: dict, attempt_timeout: float, deadline: float, now: float, owners: Owners
    ):
        self.route = route
        self.owners = owners
        self.redirects = 0
        self.op = message["op"]
        self.payload = wire.encode(message)
        self.attempt_timeout = attempt_timeout
        self.total = deadline
        self.deadline = now + deadline
        self.attempt = 0
        self.unanswered = 0

    def endpoint(self) -> str:
        return self.owners.endpoint(self.route)

    def timeout(self, now: float) -> float:
        return min(self.attempt_timeout, max(self.deadline - now, 0.01))

    def outcome(self, reply: dict | None, endpoint: str):
        """The result of an ok reply from `endpoint`; REDIRECT to resend at once to the owner a
        `wrong_owner` reply named; None to try again after a pause (no reply, `unavailable`, or
        an owner not known yet); else raise the error its code names."""
        if reply is not None and reply.get("ok"):
            return reply["result"]
        if reply is not None and self.redirects < _REDIRECTS_MAX and self.owners.redirected(self.route, reply["error"]):
            self.redirects += 1
            return REDIRECT
        if reply is not None and reply["error"]["code"] not in ("unavailable", "wrong_owner"):
            raise error_from(reply["error"]["code"], reply["error"]["message"])
        if reply is None and self.route.partition is not None:
            self.owners.forget_node(endpoint)
        self.unanswered += reply is None
        return None

    def pause(self, now: float) -> float | None:
        """The backoff before the next attempt, or None when it would pass the deadline."""
        pause = min(_BACKOFF_MAX, _BACKOFF_BASE * 2**self.attempt) * random.uniform(0.5, 1.5)
        self.attempt += 1
        return None if now + pause >= self.deadline else pause

    def gave_up(self) -> MonclubError:
        route, where = self.route, f"{self.route.place} ({self.endpoint()})"
        if not self.unanswered:
            return Unavailable(
                f"{where} answered unavailable until the {self.total:.1f}s deadline (is its database down? "
                "see monclub status); nothing was committed"
            )
        if route.shows is None:
            return Timeout(f"no answer from {where} within {self.total:.1f}s; see monclub status")
        return Timeout(
            f"no answer from {where} within {self.total:.1f}s ({self.attempt} attempts of the same request): "
            f"whether {self.op} was applied is unknown; `{route.shows}` shows it"
        )
