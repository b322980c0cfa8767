"""Persistence of séances: how to load one, and how each séance event changes the rows."""

import json

from monclub.contract.protocol import instant
from monclub.reunions.seance import (
    MembreDesinscrit,
    MembreInscrit,
    MembreMisEnAttente,
    MembrePromu,
    PlacesChangees,
    Seance,
    SeanceAnnulee,
    SeanceCreee,
    SeanceDeplacee,
    seance,
)
from monclub.shards.store import PostgresStore


def _sql(event) -> tuple[str, tuple]:
    match event:
        case SeanceCreee():
            return (
                "INSERT INTO seances (id, titre, places, attente_max, tarif, quand) VALUES (%s, %s, %s, %s, %s, %s)",
                (event.seance, event.titre, event.places, event.attente_max, event.tarif, event.quand),
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
        case SeanceDeplacee():
            return "UPDATE seances SET quand = %s WHERE id = %s", (event.quand, event.seance)
    raise TypeError(f"no SQL for {event!r}")


_INSERT_INSCRIPTIONS = """
INSERT INTO inscriptions (seance_id, membre_id, statut)
SELECT i.value ->> 0, (i.value ->> 1)::bigint, i.value ->> 2 FROM jsonb_array_elements(%s::text::jsonb) WITH ORDINALITY
    AS i(value, ordre) ORDER BY i.ordre
"""
_NOUVELLES = (MembreInscrit, MembreMisEnAttente)
_MEMBRES = "ARRAY(SELECT membre_id FROM inscriptions i WHERE i.seance_id = s.id AND i.statut = '{}' ORDER BY i.rang)"
_CHARGER = f"""
SELECT s.id, s.titre, s.places, s.attente_max, s.tarif, s.annulee, s.quand,
       {_MEMBRES.format("inscrit")}, {_MEMBRES.format("attente")}
FROM seances s WHERE s.id = ANY(%s)
"""


def inscriptions(events: list) -> list[tuple[str, tuple]]:
    """One statement for a run of registrations, in their order (their rang follows it)."""
    if not events:
        return []
    rows = [[e.seance, e.membre, "inscrit" if isinstance(e, MembreInscrit) else "attente"] for e in events]
    return [(_INSERT_INSCRIPTIONS, (json.dumps(rows),))]


class SeanceStore(PostgresStore):
    branch = "reunions"

    def statements(self, events: list) -> list[tuple[str, tuple]]:
        """Each run of consecutive registrations becomes one multi-row INSERT, so that the séance
        counters (a statement trigger, migration 004) are updated once per run."""
        out, run = [], []
        for event in events:
            if isinstance(event, _NOUVELLES):
                run.append(event)
                continue
            out += inscriptions(run) + [_sql(event)]
            run = []
        return out + inscriptions(run)

    def load_all(self, seance_ids: list[str]) -> dict[str, Seance]:
        """The séances with their inscrits and attente in rank order, in one round trip."""
        rows = self.conn.execute(_CHARGER, (seance_ids,)).fetchall()
        found = {}
        for seance_id, titre, places, attente_max, tarif, annulee, quand, inscrits, attente in rows:
            when = None if quand is None else instant(quand)
            found[seance_id] = seance(
                seance_id, titre, places, attente_max, tarif, tuple(inscrits), tuple(attente), annulee, when
            )
        return found
