"""What the pages read from PostgreSQL, one function of a connection each (as monclub.db.reads):
a séance with its inscrits and attente by name, the membres and one membre's whole file, the
copies with their loans (overdue first), the payments; and the events page's positions."""

import psycopg
from psycopg.rows import dict_row

from monclub.contract.protocol import instant
from monclub.db import reads
from monclub.db.outbox import latest_seq

MEMBRES_SHOWN = 500


def _rows(conn: psycopg.Connection, query: str, params=()) -> list[dict]:
    return conn.cursor(row_factory=dict_row).execute(query, params).fetchall()


def _quand(row: dict) -> dict:
    """`quand` in the wire's one form (RFC 3339 in UTC), as the CLI's listings carry it."""
    return {**row, "quand": None if row["quand"] is None else instant(row["quand"])}


def seance(conn: psycopg.Connection, seance_id: str) -> dict | None:
    """A séance as its shard's `etat` shows it, from its committed rows, each inscrit and attente
    with its name, in order; None when unknown."""
    found = _rows(
        conn, "SELECT id, titre, places, attente_max, tarif, annulee, quand FROM seances WHERE id = %s", (seance_id,)
    )
    if not found:
        return None
    lists: dict[str, list[dict]] = {"inscrit": [], "attente": []}
    for row in _rows(
        conn,
        "SELECT i.membre_id AS id, m.nom, i.statut FROM inscriptions i JOIN membres m ON m.id = i.membre_id"
        " WHERE i.seance_id = %s ORDER BY i.rang",
        (seance_id,),
    ):
        lists[row.pop("statut")].append(row)
    row = _quand(found[0])
    return {
        **row,
        "inscrits": lists["inscrit"],
        "attente": lists["attente"],
        "places_restantes": max(0, row["places"] - len(lists["inscrit"])),
    }


def membres(conn: psycopg.Connection, cherche: str | None = None) -> list[dict]:
    """The membres whose name holds `cherche` (any case; all without it), by name."""
    return _rows(
        conn,
        "SELECT id, nom, email FROM membres WHERE %(q)s::text IS NULL OR strpos(lower(nom), lower(%(q)s)) > 0"
        " ORDER BY lower(nom), id LIMIT %(n)s",
        {"q": cherche or None, "n": MEMBRES_SHOWN},
    )


def membre(conn: psycopg.Connection, membre_id: int) -> dict | None:
    """A membre with their registrations (and their position in each attente), loans and payments."""
    found = _rows(conn, "SELECT id, nom, email FROM membres WHERE id = %s", (membre_id,))
    if not found:
        return None
    inscriptions = _rows(
        conn,
        "SELECT s.id AS seance, s.titre, s.quand, s.annulee, i.statut, CASE WHEN i.statut = 'attente' THEN"
        " (SELECT count(*) FROM inscriptions a WHERE a.seance_id = i.seance_id AND a.statut = 'attente'"
        " AND a.rang <= i.rang) END AS position"
        " FROM inscriptions i JOIN seances s ON s.id = i.seance_id WHERE i.membre_id = %s"
        " ORDER BY s.quand NULLS LAST, s.id",
        (membre_id,),
    )
    prets = _rows(
        conn,
        "SELECT id AS livre, titre, extract(epoch FROM echeance)::float8 AS echeance, prolonge,"
        " echeance < now() AS en_retard FROM livres WHERE emprunteur = %s ORDER BY echeance",
        (membre_id,),
    )
    paiements = _rows(
        conn,
        "SELECT p.id, p.seance_id AS seance, s.titre, p.montant, p.statut FROM paiements p"
        " JOIN seances s ON s.id = p.seance_id WHERE p.membre_id = %s ORDER BY p.id",
        (membre_id,),
    )
    return {**found[0], "inscriptions": [_quand(row) for row in inscriptions], "prets": prets, "paiements": paiements}


def livres(conn: psycopg.Connection, livre_id: str | None = None) -> list[dict]:
    """Every copy (or the one `livre_id` names) with its loan: borrower (and name), due date,
    extension, overdue, reminders sent and the next one; the overdue loans first, then the others
    soonest due, then the copies on the shelf."""
    return _rows(
        conn,
        "SELECT l.id, l.titre, l.emprunteur, m.nom, extract(epoch FROM l.echeance)::float8 AS echeance,"
        " l.prolonge, coalesce(l.echeance < now(), false) AS en_retard, l.relances,"
        " extract(epoch FROM l.prochaine_relance)::float8 AS prochaine_relance"
        " FROM livres l LEFT JOIN membres m ON m.id = l.emprunteur WHERE %(id)s::text IS NULL OR l.id = %(id)s"
        " ORDER BY l.emprunteur IS NULL, l.echeance < now() DESC, l.echeance, l.cree_le, l.id",
        {"id": livre_id},
    )


def paiements(conn: psycopg.Connection) -> list[dict]:
    """Every payment with its membre's name and its séance's titre: those to settle first."""
    return _rows(
        conn,
        "SELECT p.id, p.seance_id AS seance, s.titre, p.membre_id AS membre, m.nom, p.montant, p.statut"
        " FROM paiements p JOIN membres m ON m.id = p.membre_id JOIN seances s ON s.id = p.seance_id"
        " ORDER BY p.statut <> 'en_attente', p.id",
    )


def positions(conn: psycopg.Connection) -> dict:
    """The latest sequence number and each listener's position."""
    return {"latest": latest_seq(conn), "listeners": reads.listener_positions(conn)}
