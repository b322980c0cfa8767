"""The ops of the accueil and the checks of their fields (docs/protocol.md, section 14), what its
commands do and the words of the `monclub` commands (tests/unit/test_cli_declared.py).

Every field is required, as on the shards; a field that may be absent takes nil. A listing is
read page by page: `apres` is nil for the first page, then the `suivant` of the page before.
"""

from monclub.contract import protocol
from monclub.contract.protocol import Check, Field, aggregate, email, membre_id, nil_or, nom, row_id, seance_id
from monclub.errors import InvalidField
from monclub.registry import BRANCH_NAMES

PAGE_MAX = 50


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


def listing(name: str, key: Check, cli: str | None = None, **fields: Check) -> protocol.Op:
    """A listing's page: its rows under the op's name, and the key to ask the next page after. The
    CLI reads a listing from PostgreSQL in one go, in its `cli` command written by hand."""
    return protocol.query(name, {**fields, **page(key)}, reply=(name, "suivant"), cli=cli)


OPS = protocol.ops(
    "accueil",
    protocol.command(
        "creer_membre",
        {"nom": nom, "email": Field(nil_or(email), default=None)},
        reply=("membre",),
        doc="Create a member and print its id (through the accueil).",
        cli="membre creer",
    ),
    protocol.command(
        "regler_paiement",
        {"paiement": row_id},
        refusals=("paiement_inconnu", "paiement_clos"),
        reply=("paiement",),
        doc="Mark a pending payment paid (through the accueil).",
        cli="paiement regler",
    ),
    protocol.query("directory", {"branch": branch}, reply=("branch", "partitions", "owners")),
    listing("membres", row_id, "membre liste"),
    listing("seances", seance_id, "seance liste"),
    listing("livres", seance_id, "livre liste"),
    listing("prets", seance_id, en_retard=flag),
    listing("paiements", row_id, seance=nil_or(seance_id)),
    listing("notifications", row_id, membre=nil_or(membre_id)),
    # The history of an aggregate, or the events naming a member, page by page: `apres` is the
    # `suivant` of the page before, an opaque position (a snapshot shares its seq with an event).
    protocol.query("history", {"aggregate": aggregate, **page(row_id)}, reply=("history", "suivant"), cli="history"),
)
