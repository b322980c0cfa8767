"""The reads of the CLI, `status`, `verify` and the drills, and the membres written directly,
against a real database."""

import anyio
import psycopg
import pytest

from monclub.cli.common import on_database, read_session
from monclub.config import Config
from monclub.db import reads
from monclub.db.membres import creer_membre, creer_membres
from monclub.db.outbox import append_events
from monclub.events.paiements import Paiements, regler
from monclub.tree.database import hosts, render
from monclub.web.backend import Database
from tests.fixtures.postgres import add_membres, apply_effects

JAN_2001, JAN_2100 = 978307200.0, 4102444800.0


def _seance(sql, seance: str, cree_le: str, places: int = 2, attente: int = 1, tarif: int = 0) -> None:
    sql.execute(
        "INSERT INTO seances (id, titre, places, attente_max, tarif, cree_le) VALUES (%s, %s, %s, %s, %s, %s)",
        (seance, f"Séance {seance}", places, attente, tarif, cree_le),
    )


def _inscrire(sql, seance: str, membre: int, statut: str = "inscrit") -> None:
    sql.execute("INSERT INTO inscriptions (seance_id, membre_id, statut) VALUES (%s, %s, %s)", (seance, membre, statut))


def _event(seq: int, kind: str, seance: str, membre: int, tarif: int = 0) -> dict:
    return {"seq": seq, "type": kind, "payload": {"seance": seance, "membre": membre, "tarif": tarif}}


def test_a_created_membre_has_its_nom_and_email_and_a_batch_is_named_after_its_prefix(sql):
    seul = creer_membre(sql, "Alice", "alice@example.org")
    sans_email = creer_membre(sql, "Bob")
    batch = creer_membres(sql, "drill", 3)
    assert sans_email == seul + 1 and batch == [seul + 2, seul + 3, seul + 4]
    rows = sql.execute("SELECT id, nom, email FROM membres ORDER BY id").fetchall()
    assert rows == [
        (seul, "Alice", "alice@example.org"),
        (sans_email, "Bob", None),
        (batch[0], "drill-1", None),
        (batch[1], "drill-2", None),
        (batch[2], "drill-3", None),
    ]


def test_seances_are_listed_oldest_first_with_their_counters(sql):
    a, b, c = add_membres(sql, 3)
    _seance(sql, "recente", "2024-02-01", tarif=500)
    _seance(sql, "ancienne", "2024-01-01")
    _inscrire(sql, "recente", a)
    _inscrire(sql, "recente", b)
    _inscrire(sql, "recente", c, "attente")
    sql.execute("UPDATE seances SET annulee = true WHERE id = 'ancienne'")
    sql.execute("UPDATE seances SET quand = '2026-12-10 19:00:00+01' WHERE id = 'recente'")
    assert reads.seances(sql) == [
        {
            "id": "ancienne",
            "titre": "Séance ancienne",
            "places": 2,
            "inscrits": 0,
            "en_attente": 0,
            "tarif": 0,
            "annulee": True,
            "quand": None,
        },
        {
            "id": "recente",
            "titre": "Séance recente",
            "places": 2,
            "inscrits": 2,
            "en_attente": 1,
            "tarif": 500,
            "annulee": False,
            "quand": "2026-12-10T18:00:00Z",
        },
    ]


def test_membres_and_livres_are_listed_and_a_club_is_vide_until_it_has_any(sql):
    assert reads.club_vide(sql) and reads.membres(sql) == [] and reads.livres(sql) == []
    (a,) = add_membres(sql, 1)
    assert not reads.club_vide(sql)
    sql.execute("INSERT INTO livres (id, titre, shard) VALUES ('rose', 'Le Nom de la rose', 0), ('dune', 'Dune', 1)")
    with sql.transaction():  # the borrower and its open loan together, as a loan shard writes them
        sql.execute("UPDATE livres SET emprunteur = %s, echeance = to_timestamp(%s) WHERE id = 'dune'", (a, JAN_2100))
        sql.execute(
            "INSERT INTO prets (livre_id, membre_id, echeance) VALUES ('dune', %s, to_timestamp(%s))", (a, JAN_2100)
        )
    assert reads.membres(sql) == [{"id": a, "nom": "membre 1", "email": None}]
    assert reads.livres(sql) == [
        {"id": "dune", "titre": "Dune", "emprunteur": a, "echeance": JAN_2100},
        {"id": "rose", "titre": "Le Nom de la rose", "emprunteur": None, "echeance": None},
    ]


def test_prets_en_cours_are_the_copies_out_soonest_due_first_and_en_retard_only_the_overdue(sql):
    a, b = add_membres(sql, 2)
    with sql.transaction():  # a borrower and the open loan, together (migration 006)
        sql.execute(
            "INSERT INTO livres (id, titre, shard, emprunteur, echeance, retard_signale, relances) VALUES"
            " ('libre', 'Libre', 0, NULL, NULL, false, 0),"
            " ('futur', 'Futur', 0, %s, '2100-01-01 00:00:00+00', false, 0),"
            " ('passe', 'Passé', 1, %s, '2001-01-01 00:00:00+00', true, 2)",
            (a, b),
        )
        sql.execute(
            "INSERT INTO prets (livre_id, membre_id, echeance) VALUES"
            " ('futur', %s, '2100-01-01 00:00:00+00'), ('passe', %s, '2001-01-01 00:00:00+00')",
            (a, b),
        )
    passe = {"livre": "passe", "titre": "Passé", "membre": b, "echeance": JAN_2001, "en_retard": True, "relances": 2}
    futur = {"livre": "futur", "titre": "Futur", "membre": a, "echeance": JAN_2100, "en_retard": False, "relances": 0}
    assert reads.prets_en_cours(sql) == [passe, futur]
    assert reads.prets_en_cours(sql, en_retard=True) == [passe]


def test_paiements_are_listed_in_order_and_by_seance_with_their_statut(sql):
    a, b = add_membres(sql, 2)
    _seance(sql, "yoga", "2024-01-01", tarif=800)
    _seance(sql, "polar", "2024-01-02", tarif=500)
    for event in (_event(3, "membre_inscrit", "yoga", a, 800), _event(7, "membre_inscrit", "polar", b, 500)):
        apply_effects(sql, Paiements(), event)
    premier = reads.paiements(sql)[0]["id"]
    regler(sql, premier)
    yoga = {"id": premier, "seance": "yoga", "membre": a, "montant": 800, "statut": "paye", "event_seq": 3}
    polar = {"id": premier + 1, "seance": "polar", "membre": b, "montant": 500, "statut": "en_attente", "event_seq": 7}
    assert reads.paiements(sql) == [yoga, polar]
    assert reads.paiements(sql, "polar") == [polar]
    assert reads.paiements(sql, "aucune") == []


def test_notifications_are_listed_in_order_and_by_membre(sql):
    a, b = add_membres(sql, 2)
    sql.execute(
        "INSERT INTO notifications (event_seq, membre_id, kind, message, envoye_le) VALUES"
        " (1, %s, 'inscription', 'Bienvenue', now()), (2, %s, 'attente', 'En attente', NULL)",
        (a, b),
    )
    listed = reads.notifications(sql)
    assert [(n["event_seq"], n["membre"], n["kind"], n["message"]) for n in listed] == [
        (1, a, "inscription", "Bienvenue"),
        (2, b, "attente", "En attente"),
    ]
    assert isinstance(listed[0]["envoye_le"], str) and listed[1]["envoye_le"] is None
    assert reads.notifications(sql, b) == [listed[1]]


def test_lags_are_events_behind_the_outbox_and_caught_up_means_none_behind(sql, owner_sql):
    assert reads.caught_up(sql) and reads.listener_lags(sql) == {"paiements": 0, "notifications": 0}
    owner_sql.execute("DELETE FROM listener_positions")  # the programs never delete a position
    assert reads.caught_up(sql) and reads.listener_lags(sql) == {}
    append_events(sql, [("test", f"a/{i}", {}) for i in range(5)])
    sql.execute("INSERT INTO listener_positions (listener, seq) VALUES ('paiements', 5), ('notifications', 2)")
    assert reads.listener_positions(sql) == {"paiements": 5, "notifications": 2}
    assert reads.listener_lags(sql) == {"paiements": 0, "notifications": 3}
    assert not reads.caught_up(sql)
    sql.execute("UPDATE listener_positions SET seq = 5")
    assert reads.caught_up(sql) and reads.listener_lags(sql) == {"paiements": 0, "notifications": 0}


def test_ping_answers_and_fails_on_a_closed_connection(sql):
    reads.ping(sql)
    sql.close()
    with pytest.raises(psycopg.OperationalError):
        reads.ping(sql)


def test_the_drills_reads_keep_only_their_seances_and_copies(sql):
    a, b = add_membres(sql, 2)
    append_events(
        sql,
        [
            ("membre_inscrit", "seance/x", {"seance": "x", "membre": a}),
            ("membre_inscrit", "seance/autre", {"seance": "autre", "membre": a}),
            ("seance_creee", "seance/x", {"seance": "x"}),
            ("membre_mis_en_attente", "seance/x", {"seance": "x", "membre": b}),
            ("membre_desinscrit", "seance/x", {"seance": "x", "membre": a}),
        ],
    )
    kinds = ["membre_inscrit", "membre_mis_en_attente", "membre_desinscrit"]
    assert reads.membre_events(sql, ["x"], kinds) == [
        ("membre_inscrit", "x", a),
        ("membre_mis_en_attente", "x", b),
        ("membre_desinscrit", "x", a),
    ]
    _seance(sql, "x", "2024-01-01")
    _seance(sql, "autre", "2024-01-01")
    _inscrire(sql, "x", b, "attente")
    _inscrire(sql, "autre", a)
    assert reads.inscriptions(sql, ["x"]) == {("x", b)}
    with sql.transaction():
        sql.execute(
            "INSERT INTO livres (id, titre, shard, emprunteur) VALUES ('l1', 'L1', 0, %s), ('l2', 'L2', 0, %s)", (a, b)
        )
        sql.execute(
            "INSERT INTO prets (livre_id, membre_id, echeance, rendu_le) VALUES"
            " ('l1', %(a)s, now(), now()), ('l1', %(a)s, now(), NULL),"
            " ('l1', %(b)s, now(), now()), ('l2', %(b)s, now(), NULL)",
            {"a": a, "b": b},
        )
    assert reads.prets_par_paire(sql, ["l1"]) == {("l1", a): 2, ("l1", b): 1}


def test_the_web_programs_sessions_read_and_refuse_every_write(database, tmp_path):
    """The web program never writes to PostgreSQL: its pool's sessions are read-only."""
    db = Database(Config(home=tmp_path, database_url=database))
    db.open()
    try:
        assert anyio.run(db.run, reads.membres) == []
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            anyio.run(db.run, lambda conn: conn.execute("INSERT INTO membres (nom) VALUES ('Marie')"))
    finally:
        db.close()


def test_the_clis_read_sessions_read_and_refuse_every_write(database, tmp_path, monkeypatch):
    """The CLI's reads and listings (`on_database`, `events tail`) are on read-only sessions too:
    the club's data is written through the accueil and the shards."""
    monkeypatch.delenv("MONCLUB_CONFIG", raising=False)
    monkeypatch.setenv("MONCLUB_HOME", str(tmp_path))
    monkeypatch.setenv("MONCLUB_DATABASE_URL", database)
    assert on_database(reads.membres) == []
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        on_database(creer_membre, "Marie")
    with read_session(database) as conn:
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("INSERT INTO membres (nom) VALUES ('Marie')")


def test_status_shows_one_server_for_a_single_postgresql_its_primary_with_its_timeline(database, tmp_path):
    (alone,) = hosts(Config(home=tmp_path, database_url=database))
    assert alone["role"] == "primary" and alone["timeline"] == 1
    assert alone["sync"] is None and alone["lag_bytes"] is None and alone["patroni"] is None
    assert render([alone])[1].split()[1:] == ["primary", "timeline", "1"]
