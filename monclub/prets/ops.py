"""The ops of a Prêts shard, each declared once: its fields and their checks, its refusals, its
reply (docs/protocol.md §11, which tests/unit/test_protocol_doc.py holds to them), what it does and
the words of its `monclub` command (tests/unit/test_cli_declared.py holds the CLI to them)."""

from monclub.contract.protocol import (
    Check,
    Field,
    Setting,
    Slug,
    command,
    jours,
    livre_id,
    membre_id,
    query,
    shard_ops,
    titre,
)

ETAT = ("id", "titre", "emprunteur", "echeance", "prolonge", "en_retard", "relances", "prochaine_relance")
PRETE = ("livre_inconnu", "membre_inconnu", "non_emprunte", "non_emprunteur")
PRET: dict[str, Check] = {"livre": livre_id, "membre": membre_id}
NOUVEAU = Field(livre_id, "The copy's id (default: from the titre).", Slug("titre"), option="--id")
JOURS = Field(jours, "Length of the loan in loan days (default: [prets] jours).", Setting("pret_jours"))

OPS = shard_ops(
    "prets",
    command(
        "ajouter",
        {"livre": NOUVEAU, "titre": titre},
        refusals=("livre_existe",),
        reply=("livre",),
        doc="Add a book copy.",
    ),
    command(
        "emprunter",
        {**PRET, "jours": JOURS},
        refusals=("livre_inconnu", "membre_inconnu", "deja_emprunte"),
        reply=("statut", "echeance"),
        doc="Borrow a copy (refused with deja_emprunte while it is out).",
        cli="pret emprunter",
    ),
    command(
        "retourner",
        PRET,
        refusals=PRETE,
        reply=("statut", "en_retard"),
        doc="Return a copy (only its borrower can).",
        cli="pret retourner",
    ),
    command(
        "prolonger",
        PRET,
        refusals=(*PRETE, "deja_prolonge", "en_retard"),
        reply=("statut", "echeance"),
        doc="Extend a loan once, unless it is overdue.",
        cli="pret prolonger",
    ),
    query(
        "etat",
        {"livre": livre_id},
        refusals=("livre_inconnu",),
        reply=ETAT,
        doc="Show a copy, its current loan, and the shard process that owns it.",
        cli="pret voir",
    ),
)
