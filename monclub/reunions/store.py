"""Persistence of séances: how to load one, and how each séance event changes the rows."""

from monclub.reunions.seance import (
    MembreDesinscrit,
    MembreInscrit,
    MembreMisEnAttente,
    MembrePromu,
    PlacesChangees,
    Seance,
    SeanceAnnulee,
    seance,
    SeanceCreee,
)
from monclub.store import Store, event_payload


def _sql(event) -> tuple[str, tuple]:
    match event:
        case SeanceCreee():
            return (
                "INSERT INTO seances (id, titre, places, attente_max, tarif) VALUES (%s, %s, %s, %s, %s)",
                (event.seance, event.titre, event.places, event.attente_max, event.tarif),
            )
        case MembreInscrit():
            return (
                "INSERT INTO inscriptions (seance_id, membre_id, statut) VALUES (%s, %s, 'inscrit')",
                (event.seance, event.membre),
            )
        case MembreMisEnAttente():
            return (
                "INSERT INTO inscriptions (seance_id, membre_id, statut) VALUES (%s, %s, 'attente')",
                (event.seance, event.membre),
            )
        case MembreDesinscrit():
            return "DELETE FROM inscriptions WHERE seance_id = %s AND membre_id = %s", (event.seance, event.membre)
        case MembrePromu():
            return (
                "UPDATE inscriptions SET statut = 'inscrit', rang = nextval('inscription_rang')"
                " WHERE seance_id = %s AND membre_id = %s AND statut = 'attente'",
                (event.seance, event.membre),
            )
        case PlacesChangees():
            return "UPDATE seances SET places = %s WHERE id = %s", (event.places, event.seance)
        case SeanceAnnulee():
            return "UPDATE seances SET annulee = true WHERE id = %s", (event.seance,)
    raise TypeError(f"no SQL for {event!r}")


class SeanceStore(Store):
    branch = "reunions"

    def sql(self, event) -> list[tuple[str, tuple]]:
        return [_sql(event)]

    def outbox_record(self, event, after: Seance) -> tuple[str, str, dict]:
        """Its fields, plus the séance's titre and tarif so that listeners need not look them up."""
        kind, payload = event_payload(event)
        return kind, f"seance/{event.seance}", {**payload, "titre": after.titre, "tarif": after.tarif}

    def charger(self, seance_id: str) -> Seance | None:
        row = self.conn.execute(
            "SELECT titre, places, attente_max, tarif, annulee FROM seances WHERE id = %s", (seance_id,)
        ).fetchone()
        if row is None:
            return None
        titre, places, attente_max, tarif, annulee = row
        rows = self.conn.execute(
            "SELECT membre_id, statut FROM inscriptions WHERE seance_id = %s ORDER BY rang", (seance_id,)
        ).fetchall()
        return seance(
            seance_id, titre, places, attente_max, tarif,
            inscrits=tuple(m for m, statut in rows if statut == "inscrit"),
            attente=tuple(m for m, statut in rows if statut == "attente"),
            annulee=annulee,
        )
