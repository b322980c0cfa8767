"""What the CLI, `status`, `verify` and the drills read from PostgreSQL, one function per read.

Each takes a connection and returns plain values: listings as one dict per row, with the keys
the CLI prints and its --json shows.
"""

import psycopg
from psycopg.rows import dict_row

from monclub.contract.protocol import instant
from monclub.db import scalar
from monclub.db.outbox import latest_seq


def _listing(conn: psycopg.Connection, query: str, params=None) -> list[dict]:
    return conn.cursor(row_factory=dict_row).execute(query, params).fetchall()


def _page(apres, limite: int | None) -> dict:
    """A listing's page: the rows after the key `apres` (None: from the first), at most `limite`
    of them (None: all)."""
    return {"apres": apres, "limite": limite}


def seances(conn: psycopg.Connection, apres: str | None = None, limite: int | None = None) -> list[dict]:
    """Every séance with its counters, whether it is cancelled and when it takes place (`quand`,
    in the wire's RFC 3339 form, or None), oldest first (after the séance `apres` when given): the
    order of creation, a key a séance keeps, to read them page by page (`monclub seance liste`
    orders them by date itself)."""
    rows = _listing(
        conn,
        "SELECT id, titre, places, inscrits, en_attente, tarif, annulee, quand FROM seances"
        " WHERE %(apres)s::text IS NULL OR (cree_le, id) > (SELECT cree_le, id FROM seances WHERE id = %(apres)s)"
        " ORDER BY cree_le, id LIMIT %(limite)s",
        _page(apres, limite),
    )
    return [{**row, "quand": None if row["quand"] is None else instant(row["quand"])} for row in rows]


def membres(conn: psycopg.Connection, apres: int | None = None, limite: int | None = None) -> list[dict]:
    """Every membre, by id."""
    return _listing(
        conn,
        "SELECT id, nom, email FROM membres WHERE %(apres)s::bigint IS NULL OR id > %(apres)s"
        " ORDER BY id LIMIT %(limite)s",
        _page(apres, limite),
    )


def livres(conn: psycopg.Connection, apres: str | None = None, limite: int | None = None) -> list[dict]:
    """Every book copy with its borrower (None when it is available), oldest first."""
    return _listing(
        conn,
        "SELECT id, titre, emprunteur, extract(epoch FROM echeance)::float8 AS echeance FROM livres"
        " WHERE %(apres)s::text IS NULL OR (cree_le, id) > (SELECT cree_le, id FROM livres WHERE id = %(apres)s)"
        " ORDER BY cree_le, id LIMIT %(limite)s",
        _page(apres, limite),
    )


def club_vide(conn: psycopg.Connection) -> bool:
    """True while the club has no membre, no seance and no livre (a fresh install)."""
    return bool(
        scalar(
            conn,
            "SELECT NOT EXISTS (SELECT FROM membres) AND NOT EXISTS (SELECT FROM seances)"
            " AND NOT EXISTS (SELECT FROM livres)",
        )
    )


_PRETS = (
    "SELECT id AS livre, titre, emprunteur AS membre, extract(epoch FROM echeance)::float8 AS echeance,"
    " retard_signale AS en_retard, relances FROM livres"
    " WHERE emprunteur IS NOT NULL AND (NOT %(en_retard)s OR echeance < now())"
)


def prets_en_cours(conn: psycopg.Connection, en_retard: bool = False) -> list[dict]:
    """The copies out on loan (only the overdue ones with `en_retard`), soonest due first."""
    return _listing(conn, _PRETS + " ORDER BY echeance", {"en_retard": en_retard})


def prets_par_livre(
    conn: psycopg.Connection, en_retard: bool = False, apres: str | None = None, limite: int | None = None
) -> list[dict]:
    """The loans of `prets_en_cours` in the order of their copies' ids (after the copy `apres`):
    a key that a loan keeps while it runs, to read them page by page."""
    return _listing(
        conn,
        _PRETS + " AND (%(apres)s::text IS NULL OR id > %(apres)s) ORDER BY id LIMIT %(limite)s",
        {"en_retard": en_retard, **_page(apres, limite)},
    )


def paiements(
    conn: psycopg.Connection, seance: str | None = None, apres: int | None = None, limite: int | None = None
) -> list[dict]:
    """The payments (of one séance if given), in the order they were made."""
    return _listing(
        conn,
        "SELECT id, seance_id AS seance, membre_id AS membre, montant, statut, event_seq FROM paiements"
        " WHERE (%(s)s::text IS NULL OR seance_id = %(s)s) AND (%(apres)s::bigint IS NULL OR id > %(apres)s)"
        " ORDER BY id LIMIT %(limite)s",
        {"s": seance, **_page(apres, limite)},
    )


def notifications(
    conn: psycopg.Connection, membre: int | None = None, apres: int | None = None, limite: int | None = None
) -> list[dict]:
    """The notifications (to one membre if given), in the order they were sent."""
    return _listing(
        conn,
        "SELECT id, event_seq, membre_id AS membre, kind, message, envoye_le::text FROM notifications"
        " WHERE (%(m)s::bigint IS NULL OR membre_id = %(m)s) AND (%(apres)s::bigint IS NULL OR id > %(apres)s)"
        " ORDER BY id LIMIT %(limite)s",
        {"m": membre, **_page(apres, limite)},
    )


def listener_positions(conn: psycopg.Connection) -> dict[str, int]:
    """The last outbox sequence number each listener applied."""
    return dict(conn.execute("SELECT listener, seq FROM listener_positions").fetchall())


def listener_lags(conn: psycopg.Connection) -> dict[str, int]:
    """How many events each listener is behind the outbox."""
    latest = latest_seq(conn)
    return {name: latest - seq for name, seq in listener_positions(conn).items()}


def caught_up(conn: psycopg.Connection) -> bool:
    """Has every listener applied the whole outbox? (True when there is no listener.)"""
    return scalar(conn, "SELECT bool_and(seq = (SELECT seq FROM outbox_sequence)) FROM listener_positions") is not False


def ping(conn: psycopg.Connection) -> None:
    """One round trip: raises psycopg.Error unless the server serves queries."""
    conn.execute("SELECT 1")


def prets_par_paire(conn: psycopg.Connection, livres: list[str]) -> dict[tuple[str, int], int]:
    """How many loans, open or closed, each (livre, membre) pair of these copies had."""
    return {
        (livre, membre): n
        for livre, membre, n in conn.execute(
            "SELECT livre_id, membre_id, count(*) FROM prets WHERE livre_id = ANY(%s) GROUP BY 1, 2", (livres,)
        ).fetchall()
    }


def membre_events(conn: psycopg.Connection, seances: list[str], types: list[str]) -> list[tuple[str, str, int]]:
    """(type, seance, membre) of these séances' events of these types, in commit order."""
    return conn.execute(
        "SELECT type, payload->>'seance', (payload->>'membre')::bigint FROM events"
        " WHERE aggregate = ANY(%s) AND type = ANY(%s) ORDER BY seq",
        ([f"seance/{s}" for s in seances], types),
    ).fetchall()


def inscriptions(conn: psycopg.Connection, seances: list[str]) -> set[tuple[str, int]]:
    """The (seance, membre) pairs present in these séances, registered or waiting."""
    return set(
        conn.execute("SELECT seance_id, membre_id FROM inscriptions WHERE seance_id = ANY(%s)", (seances,)).fetchall()
    )
