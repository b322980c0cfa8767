"""The ops of a Prêts shard, each declared once: its fields and their checks, its refusals, its
reply (docs/protocol.md §11, which tests/unit/test_protocol_doc.py holds to them)."""

from monclub.contract.protocol import Check, command, jours, livre_id, membre_id, query, shard_ops, titre

ETAT = ("id", "titre", "emprunteur", "echeance", "prolonge", "en_retard", "relances", "prochaine_relance")
PRETE = ("livre_inconnu", "membre_inconnu", "non_emprunte", "non_emprunteur")
PRET: dict[str, Check] = {"livre": livre_id, "membre": membre_id}

OPS = shard_ops(
    "prets",
    command("ajouter", {"livre": livre_id, "titre": titre}, refusals=("livre_existe",), reply=("livre",)),
    command(
        "emprunter",
        {**PRET, "jours": jours},
        refusals=("livre_inconnu", "membre_inconnu", "deja_emprunte"),
        reply=("statut", "echeance"),
    ),
    command("retourner", PRET, refusals=PRETE, reply=("statut", "en_retard")),
    command("prolonger", PRET, refusals=(*PRETE, "deja_prolonge", "en_retard"), reply=("statut", "echeance")),
    query("etat", {"livre": livre_id}, refusals=("livre_inconnu",), reply=ETAT),
)
