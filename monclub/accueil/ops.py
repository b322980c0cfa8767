"""The ops of the accueil and the checks of their fields (docs/protocol.md, section 14).

Every field is required, as on the shards; a field that may be absent takes nil. A listing is
read page by page: `apres` is nil for the first page, then the `suivant` of the page before.
"""

from monclub.contract import protocol
from monclub.contract.protocol import Check, email, membre_id, nom, row_id, seance_id
from monclub.errors import InvalidField
from monclub.registry import BRANCH_NAMES

PAGE_MAX = 50


def nil_or(check: Check) -> Check:
    """`check`, or nil."""

    def checked(name: str, value):
        return None if value is None else check(name, value)

    return checked


def flag(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise InvalidField(name, "must be true or false")
    return value


def branch(name: str, value) -> str:
    if value not in BRANCH_NAMES:
        raise InvalidField(name, f"must be one of {', '.join(BRANCH_NAMES)}")
    return value


def limite(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= PAGE_MAX:
        raise InvalidField(name, f"must be an integer from 1 to {PAGE_MAX}")
    return value


def page(key: Check) -> dict[str, Check]:
    """The fields of a listing's page: after which key (nil: from the start), and how many rows."""
    return {"apres": nil_or(key), "limite": limite}


OPS = protocol.ops(
    commands={
        "creer_membre": {"nom": nom, "email": nil_or(email)},
        "regler_paiement": {"paiement": row_id},
    },
    queries={
        "directory": {"branch": branch},
        "membres": page(row_id),
        "seances": page(seance_id),
        "livres": page(seance_id),
        "prets": {"en_retard": flag, **page(seance_id)},
        "paiements": {"seance": nil_or(seance_id), **page(row_id)},
        "notifications": {"membre": nil_or(membre_id), **page(row_id)},
    },
)
