"""The club's pages and their forms over plain HTTP, on a real tree: each form a POST then a
redirect, applied once however often it is sent, its refusal said in the CLI's words, its CSRF
token checked, another site's form refused."""

import pytest

from tests.fixtures.forms import button, form, said, submit
from tests.fixtures.postgres import add_membres

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def _inscrits(sql, seance: str) -> list[tuple[int, str]]:
    return sql.execute(
        "SELECT membre_id, statut FROM inscriptions WHERE seance_id = %s ORDER BY rang", (seance,)
    ).fetchall()


def test_a_seance_created_and_filled_from_its_pages_each_form_applied_once(web, http, sql):
    marie, paul, ines = add_membres(sql, 3)
    action, fields = form(http.get("/seances").text, "creer")
    created = {
        **fields,
        "titre": "Soirée Polar",
        "quand": "2026-12-10T19:00",
        "places": "1",
        "attente": "1",
        "tarif": "800",
    }
    page = submit(http, action, created)
    seance = sql.execute("SELECT id FROM seances").fetchone()[0]
    assert page.url.path == f"/seances/{seance}" and said(page.text).startswith(f"{seance}: Soirée Polar")
    again = submit(http, action, created)
    assert said(again.text) == said(page.text), "the same form sent again shows the first answer"
    assert sql.execute("SELECT count(*) FROM seances").fetchone()[0] == 1

    for membre in (marie, paul, marie, ines):
        action, fields = form(http.get(f"/seances/{seance}").text, "inscrire")
        page = submit(http, action, {**fields, "membre": str(membre)})
    assert said(page.text) == f"error: seance_complete: {seance} is full and so is its waiting list"
    assert _inscrits(sql, seance) == [(marie, "inscrit"), (paul, "attente")]

    action, fields = button(http.get(f"/seances/{seance}").text, f"desinscrire-{marie}")
    first = submit(http, action, fields)
    assert said(first.text) == f"membre {marie} desinscrit from {seance}; membre {paul} promoted from attente"
    assert said(submit(http, action, fields).text) == said(first.text), "a resubmit gets the first answer"
    assert _inscrits(sql, seance) == [(paul, "inscrit")]
    assert f'data-membre="{paul}"><a class="nom" href="/membres/{paul}">membre {paul}</a>' in first.text


def test_a_form_without_this_browsers_csrf_token_or_from_another_site_is_refused(web, http, sql):
    action, fields = form(http.get("/membres").text, "creer-membre")
    forged = http.post(action, data={**fields, "nom": "Forged", "csrf": "x" * 32})
    assert forged.status_code == 403 and forged.json()["code"] == "forbidden"
    other = http.post(action, data={**fields, "nom": "Forged"}, headers={"Origin": "http://evil.example"})
    assert other.status_code == 403 and other.json()["code"] == "cross_site"
    assert sql.execute("SELECT count(*) FROM membres").fetchone()[0] == 0
    page = submit(http, action, {**fields, "nom": "Marie"})
    membre = sql.execute("SELECT id FROM membres").fetchone()[0]
    assert page.url.path == f"/membres/{membre}" and said(page.text) == f"membre {membre}: Marie"
    changed = submit(http, action, {**fields, "nom": "Paul"})
    assert said(changed.text).startswith("error: request_id_reused: this form was sent before with other values")
    assert sql.execute("SELECT nom FROM membres").fetchall() == [("Marie",)]
