"""Persistence of livres and their loans: how to load one, how each event changes the rows, and
which reminders are due (an indexed query on this shard's rows)."""

from monclub.prets.pret import Livre, LivreAjoute, LivreEmprunte, LivreRetourne, PretEnRetard, PretProlonge, Relance
from monclub.shards.store import PostgresStore


class LivreStore(PostgresStore):
    branch = "prets"

    def load_all(self, livre_ids: list[str]) -> dict[str, Livre]:
        rows = self.conn.execute(
            "SELECT id, titre, emprunteur, extract(epoch FROM echeance)::float8, prolonge, retard_signale, relances,"
            " extract(epoch FROM prochaine_relance)::float8 FROM livres WHERE id = ANY(%s)",
            (livre_ids,),
        ).fetchall()
        return {row[0]: Livre(*row) for row in rows}

    def due(self, now: float, limit: int = 100) -> list[str]:
        return [
            row[0]
            for row in self.conn.execute(
                "SELECT id FROM livres WHERE shard = %s AND prochaine_relance <= to_timestamp(%s)"
                " ORDER BY prochaine_relance LIMIT %s",
                (self.index, now, limit),
            ).fetchall()
        ]

    def statements(self, events: list) -> list[tuple[str, tuple]]:
        return [statement for event in events for statement in self._sql(event)]

    def _sql(self, event) -> list[tuple[str, tuple]]:
        match event:
            case LivreAjoute():
                return [
                    (
                        "INSERT INTO livres (id, titre, shard) VALUES (%s, %s, %s)",
                        (event.livre, event.titre, self.index),
                    )
                ]
            case LivreEmprunte():
                return [
                    (
                        "UPDATE livres SET emprunteur = %s, echeance = to_timestamp(%s), prolonge = false,"
                        " retard_signale = false, relances = 0, prochaine_relance = to_timestamp(%s) WHERE id = %s",
                        (event.membre, event.echeance, event.echeance, event.livre),
                    ),
                    (
                        "INSERT INTO prets (livre_id, membre_id, echeance) VALUES (%s, %s, to_timestamp(%s))",
                        (event.livre, event.membre, event.echeance),
                    ),
                ]
            case LivreRetourne():
                return [
                    (
                        "UPDATE livres SET emprunteur = NULL, echeance = NULL, prolonge = false,"
                        " retard_signale = false, relances = 0, prochaine_relance = NULL WHERE id = %s",
                        (event.livre,),
                    ),
                    ("UPDATE prets SET rendu_le = now() WHERE livre_id = %s AND rendu_le IS NULL", (event.livre,)),
                ]
            case PretProlonge():
                return [
                    (
                        "UPDATE livres SET echeance = to_timestamp(%s), prolonge = true,"
                        " prochaine_relance = to_timestamp(%s) WHERE id = %s",
                        (event.echeance, event.echeance, event.livre),
                    ),
                    (
                        "UPDATE prets SET echeance = to_timestamp(%s) WHERE livre_id = %s AND rendu_le IS NULL",
                        (event.echeance, event.livre),
                    ),
                ]
            case PretEnRetard():
                return self._relance(event.livre, 0, event.prochaine, "retard_signale = true")
            case Relance():
                return self._relance(event.livre, event.numero, event.prochaine, f"relances = {int(event.numero)}")
        raise TypeError(f"no SQL for {event!r}")

    def _relance(self, livre: str, numero: int, prochaine: float | None, change: str) -> list[tuple[str, tuple]]:
        """A reminder is recorded with its loan, so that it can never be sent twice."""
        return [
            (f"UPDATE livres SET {change}, prochaine_relance = to_timestamp(%s) WHERE id = %s", (prochaine, livre)),
            (
                "INSERT INTO relances (pret_id, numero)"
                " SELECT id, %s FROM prets WHERE livre_id = %s AND rendu_le IS NULL",
                (numero, livre),
            ),
        ]
