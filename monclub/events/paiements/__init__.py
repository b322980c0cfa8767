"""Paiements: one pending payment, at the séance's tarif, per registration.

- membre_inscrit, membre_promu with a tarif > 0: a payment `en_attente` (a free séance: none);
- membre_desinscrit of a registered member, seance_annulee: the live payment of each member
  concerned is cancelled (`annule`) if pending, or marked `a_rembourser` if already paid;
- `monclub paiement regler ID` marks a pending payment `paye`.

The payment is keyed by the event's sequence number (unique), and at most one payment per
registration is live: exactly one payment per registration, whatever redeliveries happen.
"""

import psycopg

from monclub.db.pipeline import Statement
from monclub.errors import MonclubError

NAME = "paiements"
_PENDING = (
    "INSERT INTO paiements (seance_id, membre_id, montant, statut, event_seq) VALUES (%s, %s, %s, 'en_attente', %s)"
)


class Paiements:
    name = NAME

    def statements(self, event: dict) -> list[Statement]:
        payload = event["payload"]
        kind = event["type"]
        if kind in ("membre_inscrit", "membre_promu") and payload["tarif"] > 0:
            return [(_PENDING, (payload["seance"], payload["membre"], payload["tarif"], event["seq"]))]
        if kind == "membre_desinscrit" and payload["etait_inscrit"]:
            return [clore(payload["seance"], [payload["membre"]])]
        if kind == "seance_annulee":
            return [clore(payload["seance"], payload["inscrits"])]
        return []

    def after_commit(self, conn: psycopg.Connection, events: list[dict]) -> None:
        """Payments have no effect outside the database."""


def clore(seance: str, membres: list[int]) -> Statement:
    """The live payments of these members for this séance closed: cancelled if pending, to be
    refunded if paid."""
    return (
        "UPDATE paiements SET statut = CASE statut WHEN 'en_attente' THEN 'annule' ELSE 'a_rembourser' END,"
        " modifie_le = now() WHERE seance_id = %s AND membre_id = ANY(%s) AND statut IN ('en_attente', 'paye')",
        (seance, membres),
    )


def regler(conn: psycopg.Connection, paiement: int) -> dict:
    """Mark a pending payment paid; refuse any other with a stable code."""
    row = conn.execute(
        "UPDATE paiements SET statut = 'paye', modifie_le = now() WHERE id = %s AND statut = 'en_attente'"
        " RETURNING id, seance_id, membre_id, montant, statut",
        (paiement,),
    ).fetchone()
    if row is None:
        current = conn.execute("SELECT statut FROM paiements WHERE id = %s", (paiement,)).fetchone()
        if current is None:
            raise MonclubError(f"no paiement {paiement}", "paiement_inconnu")
        raise MonclubError(f"paiement {paiement} is {current[0]}, not en_attente", "paiement_clos")
    return dict(zip(("id", "seance", "membre", "montant", "statut"), row, strict=True))
