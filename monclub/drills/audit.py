"""The audit behind `monclub verify`: what must hold in the database, checked from outside.

Each check is one query that returns the rows violating a rule; an empty list means all is well.
The payment and notification checks are only meaningful once the listeners have caught up
(`monclub.db.reads.caught_up`). Every séance and copy is also replayed from its archived events
and compared with its rows (monclub.drills.replay_audit).
"""

import psycopg

from monclub.drills import replay_audit
from monclub.events.notifications import MESSAGES

CHECKS = {
    "commit under a stale epoch (seq, branch, partition, its epoch, the epoch acquired before it)": """
        SELECT ev.seq, ev.branch, ev.partition, ev.epoch, later.epoch FROM events ev
        JOIN epochs later ON later.branch = ev.branch AND later.partition = ev.partition
            AND later.epoch > ev.epoch AND ev.seq > later.outbox_seq""",
    # From the rows themselves, not the counters: a counter written behind the triggers' back is
    # exactly what would hide an overbooking from its CHECK.
    "seance over capacity (registered, places, waiting, waiting list size)": """
        SELECT s.id, count(*) FILTER (WHERE i.statut = 'inscrit'), s.places,
               count(*) FILTER (WHERE i.statut = 'attente'), s.attente_max
        FROM seances s JOIN inscriptions i ON i.seance_id = s.id GROUP BY s.id
        HAVING count(*) FILTER (WHERE i.statut = 'inscrit') > s.places
            OR count(*) FILTER (WHERE i.statut = 'attente') > s.attente_max""",
    "counters differ from the registrations": """
        SELECT s.id, s.inscrits, s.en_attente, count(*) FILTER (WHERE i.statut = 'inscrit'),
               count(*) FILTER (WHERE i.statut = 'attente')
        FROM seances s LEFT JOIN inscriptions i ON i.seance_id = s.id GROUP BY s.id
        HAVING s.inscrits <> count(*) FILTER (WHERE i.statut = 'inscrit')
            OR s.en_attente <> count(*) FILTER (WHERE i.statut = 'attente')""",
    "member registered twice": """
        SELECT seance_id, membre_id, count(*) FROM inscriptions GROUP BY 1, 2 HAVING count(*) > 1""",
    "copy lent twice at once": """
        SELECT livre_id, count(*) FROM prets WHERE rendu_le IS NULL GROUP BY 1 HAVING count(*) > 1""",
    "borrower differs from the open loan": """
        SELECT l.id, l.emprunteur, p.membre_id FROM livres l
        LEFT JOIN prets p ON p.livre_id = l.id AND p.rendu_le IS NULL
        WHERE l.emprunteur IS DISTINCT FROM p.membre_id""",
    "reminders of a loan missing or out of order": """
        SELECT pret_id, count(*), max(numero) FROM relances GROUP BY pret_id HAVING max(numero) + 1 <> count(*)""",
    "event missing from the archive (seq, aggregate)": """
        SELECT e.seq, e.aggregate FROM events e WHERE e.seq <= (SELECT seq FROM history_position)
          AND NOT EXISTS (SELECT FROM history h WHERE h.aggregate = e.aggregate AND h.seq = e.seq)""",
    "event archived twice (seq, times)": """
        SELECT seq, count(*) FROM history WHERE type <> 'snapshot' GROUP BY seq HAVING count(*) > 1""",
    "listener behind the outbox": """
        SELECT listener, seq, (SELECT seq FROM outbox_sequence) FROM listener_positions
        WHERE seq <> (SELECT seq FROM outbox_sequence)""",
}

PAYMENT_CHECKS = {
    "registration without exactly one live payment": """
        SELECT i.seance_id, i.membre_id, count(p.id)
        FROM inscriptions i JOIN seances s ON s.id = i.seance_id
        LEFT JOIN paiements p ON p.seance_id = i.seance_id AND p.membre_id = i.membre_id
             AND p.statut IN ('en_attente', 'paye')
        WHERE i.statut = 'inscrit' AND NOT s.annulee AND s.tarif > 0
        GROUP BY 1, 2 HAVING count(p.id) <> 1""",
    "live payment without a registration": """
        SELECT p.id, p.seance_id, p.membre_id FROM paiements p JOIN seances s ON s.id = p.seance_id
        WHERE p.statut IN ('en_attente', 'paye') AND (s.annulee OR NOT EXISTS (
            SELECT 1 FROM inscriptions i WHERE i.seance_id = p.seance_id AND i.membre_id = p.membre_id
              AND i.statut = 'inscrit'))""",
    "payment at the wrong amount": """
        SELECT p.id, p.montant, s.tarif FROM paiements p JOIN seances s ON s.id = p.seance_id
        WHERE p.montant <> s.tarif""",
    "event without its notifications": """
        SELECT e.seq, e.type, count(n.id) FROM events e LEFT JOIN notifications n ON n.event_seq = e.seq
        WHERE e.type = ANY(%(types)s)
          AND e.seq <= (SELECT seq FROM listener_positions WHERE listener = 'notifications')
        GROUP BY e.seq, e.type, e.payload
        HAVING count(n.id) <> CASE WHEN e.type = 'seance_annulee'
            THEN jsonb_array_length(e.payload -> 'inscrits') + jsonb_array_length(e.payload -> 'attente')
            ELSE 1 END""",
}


def violations(conn: psycopg.Connection) -> list[str]:
    """Every rule broken, one line per offending row."""
    found = []
    for rule, query in {**CHECKS, **PAYMENT_CHECKS}.items():
        for row in conn.execute(query, {"types": list(MESSAGES)}).fetchall():
            found.append(f"{rule}: {', '.join(map(str, row))}")
    return found + replay_audit.violations(conn)
