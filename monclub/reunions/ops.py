"""The ops of a Réunions shard, each declared once: its fields and their checks, its refusals, its
reply (docs/protocol.md §4 and §5, which tests/unit/test_protocol_doc.py holds to them)."""

from monclub.contract.protocol import Check, cents, command, count, membre_id, query, seance_id, shard_ops, titre

ETAT = ("id", "titre", "places", "attente_max", "tarif", "inscrits", "attente", "places_restantes", "annulee")
INCONNUE = ("seance_inconnue",)
OUVERTE = (*INCONNUE, "seance_annulee")
SEANCE: dict[str, Check] = {"seance": seance_id}

OPS = shard_ops(
    "reunions",
    command(
        "creer",
        {**SEANCE, "titre": titre, "places": count, "attente": count, "tarif": cents},
        refusals=("seance_existe",),
        reply=("seance",),
    ),
    command(
        "inscrire",
        {**SEANCE, "membre": membre_id},
        refusals=("membre_inconnu", *OUVERTE, "deja_inscrit", "seance_complete"),
        reply=("statut", "position"),
    ),
    command(
        "desinscrire",
        {**SEANCE, "membre": membre_id},
        refusals=("membre_inconnu", *OUVERTE, "non_inscrit"),
        reply=("statut", "promu"),
    ),
    command(
        "changer_places",
        {**SEANCE, "places": count},
        refusals=(*OUVERTE, "places_insuffisantes"),
        reply=("places", "promus"),
    ),
    command("annuler", SEANCE, refusals=OUVERTE, reply=("statut", "inscrits", "attente")),
    query("etat", SEANCE, refusals=INCONNUE, reply=ETAT),
    query("places_restantes", SEANCE, refusals=INCONNUE, reply=("places_restantes",)),
)
