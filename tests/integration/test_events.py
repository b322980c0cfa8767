"""Events leave through the outbox and the bus; Paiements and Notifications act on each once."""

import json
import subprocess
import sys

import pytest

from monclub.errors import Refus
from monclub.supervision.rpc import rpc as tree_rpc
from tests.fixtures.lines import Lines
from tests.fixtures.postgres import add_membres
from tests.fixtures.smtp import SmtpServer
from tests.fixtures.waiting import wait_for


def paiements(sql, seance: str) -> list[tuple]:
    return sql.execute(
        "SELECT membre_id, montant, statut FROM paiements WHERE seance_id = %s ORDER BY id", (seance,)
    ).fetchall()


def notifications(sql, membre: int) -> list[tuple]:
    return sql.execute(
        "SELECT kind, message FROM notifications WHERE membre_id = %s ORDER BY event_seq", (membre,)
    ).fetchall()


def test_one_payment_per_registration_cancelled_or_refunded_on_desinscrire(tree, sql):
    a, b, c = add_membres(sql, 3)
    with tree.client() as client:
        client.creer("polar", "Soirée Polar", places=2, attente=1, tarif=800)
        client.creer("libre", "Lecture libre", places=5, tarif=0)
        for membre in (a, b, c):
            client.inscrire("polar", membre)
        client.inscrire("libre", a)
        tree.wait_caught_up()
        (paid,) = sql.execute("SELECT id FROM paiements WHERE membre_id = %s", (a,)).fetchone()
        tree.monclub("paiement", "regler", str(paid))
        client.desinscrire("polar", a)
        client.desinscrire("polar", b)
    tree.wait_caught_up()
    assert paiements(sql, "polar") == [
        (a, 800, "a_rembourser"),
        (b, 800, "annule"),
        (c, 800, "en_attente"),
    ]
    assert paiements(sql, "libre") == []
    refused = tree.monclub("paiement", "regler", str(paid), check=False)
    assert refused.returncode == 1 and "paiement_clos" in refused.stderr


def test_one_notification_per_member_facing_event(tree, sql):
    a, b = add_membres(sql, 2)
    with tree.client() as client:
        client.creer("manga", "Club Manga", places=1, attente=3)
        client.inscrire("manga", a)
        client.inscrire("manga", b)
        client.desinscrire("manga", a)
    tree.wait_caught_up()
    assert [kind for kind, _ in notifications(sql, a)] == ["inscrit", "desinscrit"]
    assert notifications(sql, b) == [
        ("en_attente", "« Club Manga » est complète : vous êtes en liste d'attente, position 1."),
        ("promu", "Une place s'est libérée : vous êtes inscrit(e) à « Club Manga »."),
    ]


def test_annuler_notifies_everyone_cancels_and_refunds_and_closes_the_seance(tree, sql):
    a, b, c = add_membres(sql, 3)
    with tree.client() as client:
        client.creer("atelier", "Atelier d'écriture", places=2, attente=2, tarif=1500)
        for membre in (a, b, c):
            client.inscrire("atelier", membre)
        tree.wait_caught_up()
        (paid,) = sql.execute("SELECT id FROM paiements WHERE membre_id = %s", (b,)).fetchone()
        tree.monclub("paiement", "regler", str(paid))
        assert tree.monclub("seance", "annuler", "atelier", "--json").returncode == 0
        with pytest.raises(Refus) as refused:
            client.inscrire("atelier", a)
    assert refused.value.code == "seance_annulee"
    tree.wait_caught_up()
    assert paiements(sql, "atelier") == [(a, 1500, "annule"), (b, 1500, "a_rembourser")]
    for membre in (a, b, c):
        assert notifications(sql, membre)[-1][0] == "seance_annulee"
    assert tree.monclub("verify").returncode == 0


def test_a_listener_that_was_down_catches_up_by_itself(tree, sql):
    membres = add_membres(sql, 30)
    with tree_rpc(tree.config) as rpc:
        rpc.supervisor.stopProcess("paiements")
    with tree.client() as client:
        client.creer("polar", "Soirée Polar", places=30, tarif=500)
        for membre in membres:
            client.inscrire("polar", membre)
    assert paiements(sql, "polar") == []
    with tree_rpc(tree.config) as rpc:
        rpc.supervisor.startProcess("paiements")
    tree.wait_caught_up()
    assert sorted(m for m, _, _ in paiements(sql, "polar")) == sorted(membres)


def test_notifications_are_delivered_by_smtp_when_a_host_is_configured(start_tree, sql):
    server = SmtpServer()
    try:
        tree = start_tree(MONCLUB_SMTP_HOST=server.address)
        (membre,) = sql.execute(
            "INSERT INTO membres (nom, email) VALUES ('Marie', 'marie@example.org') RETURNING id"
        ).fetchone()
        with tree.client() as client:
            client.creer("polar", "Soirée Polar", places=2)
            client.inscrire("polar", membre)
        tree.wait_caught_up()
        wait_for(lambda: server.messages, 20, "the notification to reach the SMTP server")
        wait_for(
            lambda: sql.execute("SELECT envoye_le IS NOT NULL FROM notifications").fetchone()[0],
            20,
            "the notification to be marked sent",
        )
    finally:
        server.shutdown()
        server.server_close()
    ((recipients, text),) = server.messages
    assert recipients == ["marie@example.org"] and "Soirée Polar" in text


def test_events_tail_replays_from_a_sequence_then_follows_live(tree, sql):
    (membre,) = add_membres(sql, 1)
    with tree.client() as client:
        client.creer("polar", "Soirée Polar", places=2)
        argv = [sys.executable, "-m", "monclub", "events", "tail", "--from", "1", "--json"]
        with subprocess.Popen(argv, env=tree.env, stdout=subprocess.PIPE) as tail:
            try:
                lines = Lines(tail)
                first = json.loads(lines.next(20))
                client.inscrire("polar", membre)
                second = json.loads(lines.next(20))
            finally:
                tail.terminate()
                tail.wait(timeout=10)
    assert (first["seq"], first["type"]) == (1, "seance_creee")
    assert (second["seq"], second["type"], second["payload"]["membre"]) == (2, "membre_inscrit", membre)
