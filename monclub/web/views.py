"""What the live pages read from PostgreSQL, one function of a connection each (as
monclub.db.reads): a séance with its ordered inscrits and attente, the copies with their loans."""

import psycopg
from psycopg.rows import dict_row

from monclub.db import reads
from monclub.db.outbox import latest_seq


def seance(conn: psycopg.Connection, seance_id: str) -> dict | None:
    """A séance as its shard's `etat` shows it, from its committed rows; None when unknown."""
    row = (
        conn.cursor(row_factory=dict_row)
        .execute("SELECT id, titre, places, attente_max, tarif, annulee FROM seances WHERE id = %s", (seance_id,))
        .fetchone()
    )
    if row is None:
        return None
    found: dict[str, list[int]] = {"inscrit": [], "attente": []}
    for membre, statut in conn.execute(
        "SELECT membre_id, statut FROM inscriptions WHERE seance_id = %s ORDER BY rang", (seance_id,)
    ):
        found[statut].append(membre)
    return {
        **row,
        "inscrits": found["inscrit"],
        "attente": found["attente"],
        "places_restantes": max(0, row["places"] - len(found["inscrit"])),
    }


def livres(conn: psycopg.Connection) -> list[dict]:
    """Every copy with its loan: borrower, due date, extension, reminders sent and the next one."""
    return (
        conn.cursor(row_factory=dict_row)
        .execute(
            "SELECT id, titre, emprunteur, extract(epoch FROM echeance)::float8 AS echeance, prolonge,"
            " retard_signale AS en_retard, relances, extract(epoch FROM prochaine_relance)::float8 AS prochaine_relance"
            " FROM livres ORDER BY cree_le, id"
        )
        .fetchall()
    )


def positions(conn: psycopg.Connection) -> dict:
    """The latest sequence number and each listener's position."""
    return {"latest": latest_seq(conn), "listeners": reads.listener_positions(conn)}
