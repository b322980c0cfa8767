"""The ops of a Réunions shard, each declared once: its fields and their checks, its refusals, its
reply (docs/protocol.md §4 and §5, which tests/unit/test_protocol_doc.py holds to them), what it
does and the words of its `monclub` command (tests/unit/test_cli_declared.py holds the CLI to them)."""

from monclub.contract.protocol import (
    Check,
    Field,
    Slug,
    cents,
    command,
    count,
    membre_id,
    nil_or,
    quand,
    query,
    seance_id,
    shard_ops,
    titre,
)

ETAT = ("id", "titre", "places", "attente_max", "tarif", "inscrits", "attente", "places_restantes", "annulee", "quand")
INCONNUE = ("seance_inconnue",)
OUVERTE = (*INCONNUE, "seance_annulee")
SEANCE: dict[str, Check] = {"seance": seance_id}
INSCRIPTION: dict[str, Check] = {**SEANCE, "membre": membre_id}
NOUVELLE = Field(seance_id, "The séance's id (default: from the titre).", Slug("titre"), option="--id")

OPS = shard_ops(
    "reunions",
    command(
        "creer",
        {
            "seance": NOUVELLE,
            "titre": titre,
            "places": Field(count, option="--places"),
            "attente": Field(count, "Size of the waiting list.", 0),
            "tarif": Field(cents, "Price in cents.", 0),
            "quand": Field(nil_or(quand), "When: 2026-12-10T19:00, in the club's time zone.", None),
        },
        refusals=("seance_existe",),
        reply=("seance",),
        doc="Create a séance.",
        omissible=("quand",),
    ),
    command(
        "inscrire",
        INSCRIPTION,
        refusals=("membre_inconnu", *OUVERTE, "deja_inscrit", "seance_complete"),
        reply=("statut", "position"),
        doc="Register a member (on the waiting list when the séance is full).",
        cli="inscrire",
    ),
    command(
        "desinscrire",
        INSCRIPTION,
        refusals=("membre_inconnu", *OUVERTE, "non_inscrit"),
        reply=("statut", "promu"),
        doc="Unregister a member (the first waiting member is promoted).",
        cli="desinscrire",
    ),
    command(
        "changer_places",
        {**SEANCE, "places": count},
        refusals=(*OUVERTE, "places_insuffisantes"),
        reply=("places", "promus"),
        doc="Change the number of places (raising it promotes from the waiting list).",
        cli="seance places",
    ),
    command(
        "annuler",
        SEANCE,
        refusals=OUVERTE,
        reply=("statut", "inscrits", "attente"),
        doc="Cancel a séance: everyone is told, pending payments cancelled, paid ones marked to refund.",
    ),
    command(
        "deplacer",
        {**SEANCE, "quand": quand},
        refusals=OUVERTE,
        reply=("statut", "avant", "quand"),
        doc="Move a séance to another date and time; its inscrits and attente are told.",
    ),
    query(
        "etat",
        SEANCE,
        refusals=INCONNUE,
        reply=ETAT,
        doc="Show a séance with its ordered inscrits and waiting list, and the shard process that owns it.",
        cli="seance voir",
    ),
    query(
        "places_restantes",
        SEANCE,
        refusals=INCONNUE,
        reply=("places_restantes",),
        doc="How many places are left, and the shard process that owns the séance.",
    ),
)
