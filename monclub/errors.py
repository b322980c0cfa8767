"""The error codes of MonClub and the exceptions that carry them.

Every refusal or failure that crosses the wire is one of the codes below. Each code says whether
anything was applied and whether sending the same request again (same request id) is safe; the
table is reproduced in docs/protocol.md.
"""

from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Code:
    name: str
    applied: str
    retry: str


SAME_REFUSAL = "same id returns the same refusal"
CODES = {
    code.name: code
    for code in (
        Code("seance_complete", "no", SAME_REFUSAL),
        Code("deja_inscrit", "no", SAME_REFUSAL),
        Code("non_inscrit", "no", SAME_REFUSAL),
        Code("seance_inconnue", "no", SAME_REFUSAL),
        Code("seance_existe", "no", SAME_REFUSAL),
        Code("membre_inconnu", "no", SAME_REFUSAL),
        Code("places_insuffisantes", "no", SAME_REFUSAL),
        Code("seance_annulee", "no", SAME_REFUSAL),
        Code("livre_inconnu", "no", SAME_REFUSAL),
        Code("livre_existe", "no", SAME_REFUSAL),
        Code("deja_emprunte", "no", SAME_REFUSAL),
        Code("non_emprunte", "no", SAME_REFUSAL),
        Code("non_emprunteur", "no", SAME_REFUSAL),
        Code("deja_prolonge", "no", SAME_REFUSAL),
        Code("en_retard", "no", SAME_REFUSAL),
        Code("paiement_inconnu", "no", "no: no such payment"),
        Code("paiement_clos", "no", "no: only a pending payment can be paid"),
        Code("invalid_request", "no", "no: fix the request"),
        Code("request_id_reused", "no", "no: this id was sent with another request; a new request needs a new id"),
        Code("wrong_owner", "no", "yes, at the owner its `owner` field names (else after a pause)"),
        Code("internal_error", "no", "yes: nothing was committed"),
        Code("unavailable", "no", "yes: nothing was committed"),
        Code("timeout", "unknown", "yes, with the same request id: its stored outcome is returned (client side only)"),
    )
}

# The refusals of a domain rule: the client raises them as Refus.
DOMAIN_REFUSALS = frozenset(name for name, code in CODES.items() if code.retry == SAME_REFUSAL)

# The refusals of branches registered from outside MonClub (docs/architecture.md, adding a branch):
# their pure cores declare them on import, beside CODES rather than in it, so that CODES stays
# MonClub's own table, the one docs/protocol.md lists.
_DECLARED: dict[str, Code] = {}


def declare(*names: str) -> tuple[str, ...]:
    """Declare a branch's own refusal codes (each "no" applied, same refusal on a resend), once
    per process or again with the same names; a name of MonClub's table is refused."""
    for name in names:
        if name in CODES:
            raise ValueError(f"error code {name!r} is MonClub's own: a branch declares new codes only")
        _DECLARED[name] = Code(name, "no", SAME_REFUSAL)
    return names


def is_refusal(code: str) -> bool:
    """Whether `code` is a domain rule's refusal (MonClub's or a declared branch's)."""
    return code in DOMAIN_REFUSALS or code in _DECLARED


class MonclubError(Exception):
    """Root of every MonClub exception: a stable code and a one-line message."""

    code = "internal_error"

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code
        if self.code not in CODES and self.code not in _DECLARED:
            raise ValueError(f"unknown error code {self.code!r}")

    @property
    def message(self) -> str:
        return str(self)


class Refus(MonclubError):
    """A domain rule refused the command; nothing changes."""


def existing(state: T | None, what: str, aggregate_id: str, code: str) -> T:
    """The aggregate a command or query names, or Refus `code` when it does not exist."""
    if state is None:
        raise Refus(f"no {what} {aggregate_id}", code)
    return state


class InvalidRequest(MonclubError):
    code = "invalid_request"


class InvalidField(InvalidRequest):
    """One field broke its rule: `rule` names the limit ("must be an integer from 0 to 100000")."""

    def __init__(self, field: str, rule: str):
        super().__init__(f"field {field!r} {rule}")
        self.field = field
        self.rule = rule


class Unavailable(MonclubError):
    code = "unavailable"


class Timeout(MonclubError):
    """The client's total deadline passed without an answer: the outcome is unknown.

    Sending the same request id again later resolves it.
    """

    code = "timeout"


class ConfigError(Exception):
    """The configuration or the environment is wrong; the message says what to change."""
