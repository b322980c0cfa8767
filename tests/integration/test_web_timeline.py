"""The timelines of the club's pages over plain HTTP, on a real tree: a séance's, a copy's and a
membre's history in the words of `monclub history`, page by page from the latest, and a séance's
or a copy's state at a time, marked as past and without forms."""

import html
import re
from datetime import UTC, datetime

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

SEANCE = "polar"
DATE_LINE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _membres(sql, noms: list[str]) -> list[int]:
    return [sql.execute("INSERT INTO membres (nom) VALUES (%s) RETURNING id", (nom,)).fetchone()[0] for nom in noms]


def _lines(page: str) -> list[str]:
    found = re.search(r'<pre class="timeline" id="timeline-lines">(.*?)</pre>', page, re.S)
    assert found, "no timeline in the page"
    return html.unescape(found[1]).split("\n")


def _link(page: str, name: str) -> str | None:
    found = re.search(rf'<a id="{name}" href="([^"]+)">', page)
    return None if found is None else html.unescape(found[1])


def _events(lines: list[str]) -> list[str]:
    """The lines of events, without the lines of dates (each page starts with its own)."""
    return [line for line in lines if not DATE_LINE.match(line)]


def test_a_seances_timeline_pages_from_the_latest_in_the_clis_words_and_shows_a_past_state(web, http, sql):
    tree, _ = web
    membres = _membres(sql, [f"Lecteur {n}" for n in range(56)])
    with tree.client() as client:
        client.creer(SEANCE, "Soirée Polar", places=2, attente=60)
        for membre in membres[:55]:
            client.inscrire(SEANCE, membre)
        full = datetime.now(UTC)
        client.changer_places(SEANCE, 60)
        client.inscrire(SEANCE, membres[55])

    latest = http.get(f"/seances/{SEANCE}").text
    assert "membre_inscrit Lecteur 55 (rang 56)" in _lines(latest)[-1], "its rank, as replayed"
    middle = http.get(_link(latest, "older")).text
    first = http.get(_link(middle, "older")).text
    assert _link(first, "older") is None and _link(first, "latest") == f"/seances/{SEANCE}"
    assert "membre_inscrit Lecteur 0 (rang 1)" in _lines(first)[2]
    shown = [_events(_lines(page)) for page in (first, middle, latest)]
    assert [len(lines) for lines in shown] == [11, 50, 50]
    cli = tree.monclub("history", "seance", SEANCE).stdout.splitlines()
    assert sum(shown, []) == _events(cli), "the pages say what monclub history says"

    past = http.get(f"/seances/{SEANCE}", params={"at": full.isoformat()}).text
    assert "past state: as it was at" in past and 'method="post"' not in past and 'data-stream=""' in past
    assert re.findall(r'<a class="nom" href="/membres/\d+">([^<]+)</a>', past)[:2] == ["Lecteur 0", "Lecteur 1"]
    assert "attente 53 / 60" in past
    before = http.get(f"/seances/{SEANCE}", params={"at": "2001-01-01T00:00"}).text
    assert f"error: seance_inconnue: seance/{SEANCE} did not exist yet at 2001-01-01" in before


def test_a_copys_and_a_membres_timelines(web, http, sql):
    tree, _ = web
    (membre,) = _membres(sql, ["Marie"])
    with tree.client() as client:
        client.ajouter_livre("dune", "Dune")
        client.emprunter("dune", membre, jours=7)
        lent = datetime.now(UTC)
        client.retourner("dune", membre)

    page = http.get("/livres/dune").text
    told = _events(_lines(page))
    assert told == _events(tree.monclub("history", "livre", "dune").stdout.splitlines())
    assert told[-1].endswith(" livre_retourne Marie")
    then = http.get("/livres/dune", params={"at": lent.isoformat()}).text
    assert "past state" in then and re.search(rf'lent to <a href="/membres/{membre}">Marie</a>', then)
    file = http.get(f"/membres/{membre}").text
    assert _events(_lines(file)) == [line + "  [livre/dune]" for line in told[1:]], "the loan, named by copy"
    assert http.get("/livres/nope").status_code == 404
