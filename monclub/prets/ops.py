"""The ops of a Prêts shard and the checks of their fields (docs/protocol.md §11)."""

from monclub.contract.protocol import jours, livre_id, membre_id, shard_ops, titre

OPS = shard_ops(
    commands={
        "ajouter": {"livre": livre_id, "titre": titre},
        "emprunter": {"livre": livre_id, "membre": membre_id, "jours": jours},
        "retourner": {"livre": livre_id, "membre": membre_id},
        "prolonger": {"livre": livre_id, "membre": membre_id},
    },
    queries={"etat": {"livre": livre_id}},
)
