"""When a séance takes place, through real processes: created and moved with the CLI in the club's
time zone, its members told by SMTP, its date back from PostgreSQL after a kill -9 of its shard;
through the API, a bad one refused with its code; `seance liste` in an organiser's order."""

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from monclub.contract import protocol
from monclub.errors import Refus
from tests.fixtures.processes import home_shard
from tests.fixtures.smtp import SmtpServer
from tests.fixtures.waiting import wait_for
from tests.fixtures.web import web_url

PARIS = ZoneInfo("Europe/Paris")
CLUB = '[club]\ntimezone = "Europe/Paris"\n'
RULE = "must be an RFC 3339 date-time with its offset, like 2026-12-10T19:00:00+01:00"


def _club_tree(start_tree, tmp_path, **env):
    config = tmp_path / "monclub.toml"
    config.write_text(CLUB)
    return start_tree(MONCLUB_CONFIG=str(config), **env)


def _membres(sql, *noms: str) -> list[int]:
    return [
        sql.execute(
            "INSERT INTO membres (nom, email) VALUES (%s, %s) RETURNING id", (nom, f"{nom.lower()}@example.org")
        ).fetchone()[0]
        for nom in noms
    ]


def _moves(sql) -> list[tuple]:
    return sql.execute(
        "SELECT payload->>'avant', payload->>'quand' FROM events WHERE type = 'seance_deplacee' ORDER BY seq"
    ).fetchall()


def test_a_seance_dated_and_moved_with_the_cli_tells_its_members_and_keeps_its_date_through_a_kill(
    start_tree, tmp_path, sql
):
    server = SmtpServer()
    try:
        tree = _club_tree(start_tree, tmp_path, MONCLUB_SMTP_HOST=server.address)
        marie, paul = _membres(sql, "Marie", "Paul")
        created = tree.monclub(
            "seance", "creer", "Soirée Polar", "--places", "1", "--attente", "1", "--quand", "2026-12-10T19:00",
            "--id", "polar", "--json",
        )  # fmt: skip
        assert json.loads(created.stdout)["quand"] == "2026-12-10T18:00:00Z", "19:00 in Paris"
        tree.monclub("inscrire", "polar", str(marie))
        tree.monclub("inscrire", "polar", str(paul))
        assert "  quand: Thu 2026-12-10 19:00 (Europe/Paris)" in tree.monclub("seance", "voir", "polar").stdout

        moved = tree.monclub("seance", "deplacer", "polar", "2026-12-11T20:00:00+01:00").stdout.strip()
        assert moved == (
            "polar deplacee from Thu 2026-12-10 19:00 (Europe/Paris) to Fri 2026-12-11 20:00 (Europe/Paris); "
            "its inscrits and attente are told"
        )
        again = json.loads(tree.monclub("seance", "deplacer", "polar", "2026-12-11T19:00:00Z", "--json").stdout)
        assert again == {"statut": "inchangee", "avant": "2026-12-11T19:00:00Z", "quand": "2026-12-11T19:00:00Z"}
        assert _moves(sql) == [("2026-12-10T18:00:00Z", "2026-12-11T19:00:00Z")], "the same instant: no event"

        told = "« Soirée Polar » est déplacée au vendredi 11 décembre 2026 à 20 h 00."
        tree.wait_caught_up()
        wait_for(lambda: sum(told in text for _, text in server.messages) == 2, 20, "both to be told by SMTP")
        assert sorted(to for to, text in server.messages if told in text) == [
            ["marie@example.org"],
            ["paul@example.org"],
        ], "the inscrit and the one waiting"
        assert sql.execute("SELECT count(*) FROM notifications WHERE kind = 'seance_deplacee'").fetchone() == (2,)

        place = f"reunions/shard-{home_shard(tree.config, 'polar')}"
        killed = tree.kill(place)
        wait_for(lambda: tree.pids()[place] not in (None, killed), 30, f"{place} to be restarted")
        with tree.client() as client:
            assert client.etat("polar")["quand"] == "2026-12-11T19:00:00Z", "back from PostgreSQL"
            client.annuler("polar")
            with pytest.raises(Refus) as refused:
                client.call("deplacer", "polar", quand="2026-12-12T19:00:00Z")
        assert refused.value.code == "seance_annulee" and len(_moves(sql)) == 1

        bad = tree.monclub("seance", "creer", "Club Manga", "--places", "3", "--quand", "demain", check=False)
        assert (bad.returncode, bad.stderr.strip()) == (1, f"error: invalid_request: quand: {RULE}")
        unknown = tree.monclub("seance", "deplacer", "inconnue", "2026-12-10T19:00", check=False)
        assert unknown.returncode == 1 and unknown.stderr.startswith("error: seance_inconnue: ")
        assert sql.execute("SELECT count(*) FROM seances").fetchone() == (1,)
    finally:
        server.shutdown()
        server.server_close()


def _at(day: datetime, hour: int) -> str:
    return day.replace(hour=hour, minute=0, second=0, microsecond=0).isoformat()


def test_through_the_api_and_seance_liste_in_an_organisers_order(start_tree, tmp_path, sql):
    tree = _club_tree(start_tree, tmp_path)
    now = datetime.now(PARIS)
    dated = {
        "hier": _at(now - timedelta(days=1), 19),
        "mois-dernier": _at(now - timedelta(days=30), 19),
        "ce-soir": _at(now, 0),  # today's, already begun: still at the top
        "bientot": _at(now + timedelta(days=2), 19),
        "plus-tard": _at(now + timedelta(days=40), 19),
    }
    later = _at(now + timedelta(days=3), 19)
    with httpx.Client(base_url=web_url(tree), timeout=20) as http:
        for seance, quand in dated.items():
            answer = http.post("/api/seances", json={"id": seance, "titre": seance, "places": 2, "quand": quand})
            assert answer.status_code == 201, answer.text
            assert answer.json()["quand"] == protocol.quand("quand", quand)
        for seance in ("sans-date", "a-dater"):
            assert http.post("/api/seances", json={"id": seance, "titre": seance, "places": 2}).status_code == 201
        assert http.get("/api/seances/sans-date").json()["quand"] is None

        bad = http.post("/api/seances", json={"id": "x", "titre": "X", "places": 2, "quand": "2026-12-10T19:00:00"})
        assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
        assert (bad.json()["code"], bad.json()["field"], bad.json()["rule"]) == ("invalid_request", "quand", RULE)
        for body in ({}, {"quand": None}, {"quand": "2026-12-10"}):
            refused = http.post("/api/seances/a-dater/deplacer", json=body)
            assert (refused.status_code, refused.json()["field"]) == (422, "quand"), body
        assert http.post("/api/seances/inconnue/deplacer", json={"quand": later}).status_code == 404
        moved = http.post("/api/seances/a-dater/deplacer", json={"quand": later})
        assert moved.json() == {"statut": "deplacee", "avant": None, "quand": protocol.quand("quand", later)}
        listed = {s["id"]: s["quand"] for s in http.get("/api/seances").json()}
    assert listed == {
        **{seance: protocol.quand("quand", quand) for seance, quand in dated.items()},
        "sans-date": None,
        "a-dater": protocol.quand("quand", later),
    }
    assert sql.execute("SELECT count(*) FROM seances WHERE id = 'x'").fetchone() == (0,)

    with tree.client() as client:
        client.creer("sans-date-2", "Sans date 2", places=1)
    shown = json.loads(tree.monclub("seance", "liste", "--json").stdout)
    order = ["ce-soir", "bientot", "a-dater", "plus-tard", "sans-date", "sans-date-2", "hier", "mois-dernier"]
    assert [(s["id"], s["passee"]) for s in shown] == [(seance, seance in ("hier", "mois-dernier")) for seance in order]
    lines = tree.monclub("seance", "liste").stdout.splitlines()
    assert [line.split()[0] for line in lines] == order
    today = datetime.fromisoformat(dated["ce-soir"])
    assert lines[0].split()[1:4] == [f"{today:%a}", f"{today:%Y-%m-%d}", "00:00"], "in the club's time zone"
    assert [line.endswith("(passee)") for line in lines] == [False] * 6 + [True] * 2
    assert lines[4].split()[1] == "-", "no date"
