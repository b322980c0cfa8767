"""The ops of a Réunions shard and the checks of their fields (docs/protocol.md §5)."""

from monclub.contract.protocol import cents, count, membre_id, seance_id, shard_ops, titre

OPS = shard_ops(
    commands={
        "creer": {"seance": seance_id, "titre": titre, "places": count, "attente": count, "tarif": cents},
        "inscrire": {"seance": seance_id, "membre": membre_id},
        "desinscrire": {"seance": seance_id, "membre": membre_id},
        "changer_places": {"seance": seance_id, "places": count},
        "annuler": {"seance": seance_id},
    },
    queries={
        "etat": {"seance": seance_id},
        "places_restantes": {"seance": seance_id},
    },
)
