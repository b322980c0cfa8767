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


CODES = {
    code.name: code
    for code in (
        Code("seance_complete", "no", "same id returns the same refusal"),
        Code("deja_inscrit", "no", "same id returns the same refusal"),
        Code("non_inscrit", "no", "same id returns the same refusal"),
        Code("seance_inconnue", "no", "same id returns the same refusal"),
        Code("seance_existe", "no", "same id returns the same refusal"),
        Code("membre_inconnu", "no", "same id returns the same refusal"),
        Code("places_insuffisantes", "no", "same id returns the same refusal"),
        Code("seance_annulee", "no", "same id returns the same refusal"),
        Code("livre_inconnu", "no", "same id returns the same refusal"),
        Code("livre_existe", "no", "same id returns the same refusal"),
        Code("deja_emprunte", "no", "same id returns the same refusal"),
        Code("non_emprunte", "no", "same id returns the same refusal"),
        Code("non_emprunteur", "no", "same id returns the same refusal"),
        Code("deja_prolonge", "no", "same id returns the same refusal"),
        Code("en_retard", "no", "same id returns the same refusal"),
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


class MonclubError(Exception):
    """Root of every MonClub exception: a stable code and a one-line message."""

    code = "internal_error"

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code
        if self.code not in CODES:
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
