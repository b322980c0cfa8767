"""Persistence of séances: how to load one, and how each séance event changes the rows."""

from monclub.reunions.seance import (
    MembreDesinscrit,
    MembreInscrit,
    MembreMisEnAttente,
    MembrePromu,
    PlacesChangees,
    Seance,
    SeanceAnnulee,
    SeanceCreee,
    seance,
)
from monclub.shards.store import PostgresStore


def _sql(event) -> tuple[str, tuple]:
    match event:
        case SeanceCreee():
            return (
                "INSERT INTO seances (id, titre, places, attente_max, tarif) VALUES (%s, %s, %s, %s, %s)",
                (event.seance, event.titre, event.places, event.attente_max, event.tarif),
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


_INSERT_INSCRIPTIONS = """
INSERT INTO inscriptions (seance_id, membre_id, statut)
SELECT i.seance_id, i.membre_id, i.statut FROM unnest(%s::text[], %s::bigint[], %s::text[]) WITH ORDINALITY
    AS i(seance_id, membre_id, statut, ordre) ORDER BY i.ordre
"""
_NOUVELLES = (MembreInscrit, MembreMisEnAttente)


def _inscriptions(events: list) -> list[tuple[str, tuple]]:
    """One statement for a run of registrations, in their order (their rang follows it)."""
    if not events:
        return []
    statuts = ["inscrit" if isinstance(event, MembreInscrit) else "attente" for event in events]
    return [(_INSERT_INSCRIPTIONS, ([e.seance for e in events], [e.membre for e in events], statuts))]


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
            out += _inscriptions(run) + [_sql(event)]
            run = []
        return out + _inscriptions(run)

    def charger_tous(self, seance_ids: list[str]) -> dict[str, Seance]:
        rows = self.conn.execute(
            "SELECT id, titre, places, attente_max, tarif, annulee FROM seances WHERE id = ANY(%s)", (seance_ids,)
        ).fetchall()
        membres: dict[str, dict[str, list[int]]] = {row[0]: {"inscrit": [], "attente": []} for row in rows}
        for seance_id, membre, statut in self.conn.execute(
            "SELECT seance_id, membre_id, statut FROM inscriptions WHERE seance_id = ANY(%s) ORDER BY rang",
            (seance_ids,),
        ):
            membres[seance_id][statut].append(membre)
        return {
            seance_id: seance(
                seance_id,
                titre,
                places,
                attente_max,
                tarif,
                tuple(membres[seance_id]["inscrit"]),
                tuple(membres[seance_id]["attente"]),
                annulee,
            )
            for seance_id, titre, places, attente_max, tarif, annulee in rows
        }
