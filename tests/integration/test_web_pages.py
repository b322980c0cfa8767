"""The club's pages in a real browser (Debian's Chromium) on a real tree: an organiser's evening
without the CLI, a double submit applied once, a refusal said in the page, everything done with
the keyboard alone, and nothing on the console."""

import re

import pytest
from playwright.sync_api import expect

from tests.fixtures.waiting import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
DEADLINE_MS = 10_000
NOMS = ("Marie", "Paul", "Ines", "Hugo", "Lea")


def _said(page) -> str:
    return page.locator("#outcome").text_content()


def _noms(page, liste: str) -> list[str]:
    return page.locator(f"#{liste} li .nom").all_text_contents()


def _watch(browser, page) -> None:
    """Keep the console messages and errors of another page of the browser too."""
    page.on("console", lambda message: browser.troubles.append(f"console {message.type}: {message.text}"))
    page.on("pageerror", lambda error: browser.troubles.append(f"page error: {error}"))


def _shows(page, liste: str, noms: list[str]) -> None:
    page.wait_for_function(
        "([liste, noms]) => JSON.stringify([...document.querySelectorAll(`#${liste} li .nom`)]"
        ".map(n => n.textContent)) === JSON.stringify(noms)",
        arg=[liste, noms],
        timeout=DEADLINE_MS,
    )


def _creer_membre(page, nom: str) -> None:
    page.fill("#creer-membre input[name=nom]", nom)
    page.click("#creer-membre button")
    page.wait_for_url("**/membres/*")


def _inscrire(page, nom: str) -> None:
    page.select_option("#inscrire select[name=membre]", label=f"{nom} ({page.evaluate(ID_OF, nom)})")
    page.click("#inscrire button")
    page.wait_for_selector("#outcome")


ID_OF = (
    "nom => [...document.querySelectorAll('#inscrire option')].find(o => o.textContent.startsWith(nom + ' (')).value"
)


def test_an_organisers_evening_from_the_pages_alone(web, sql, browser):
    tree, url = web
    page = browser.page
    page.goto(f"{url}/membres")
    for nom in NOMS:
        page.goto(f"{url}/membres")
        _creer_membre(page, nom)
    ids = dict(sql.execute("SELECT nom, id FROM membres").fetchall())
    browser.screenshot("membre")

    page.goto(f"{url}/seances")
    page.fill("#creer input[name=titre]", "Soirée Polar")
    page.fill("#creer input[name=quand]", "2026-12-10T19:00")
    page.fill("#creer input[name=places]", "3")
    page.fill("#creer input[name=attente]", "2")
    page.fill("#creer input[name=tarif]", "800")
    page.click("#creer button")
    page.wait_for_url("**/seances/soiree-polar-*")
    seance = page.url.split("?")[0].rsplit("/", 1)[1]
    assert _said(page).startswith(f"{seance}: Soirée Polar")

    for nom in NOMS:
        _inscrire(page, nom)
    assert _said(page) == f"membre {ids['Lea']} in attente on {seance}, position 2"
    assert _noms(page, "inscrits") == ["Marie", "Paul", "Ines"] and _noms(page, "attente") == ["Hugo", "Lea"]
    _inscrire(page, "Marie")
    assert _said(page) == f"error: deja_inscrit: membre {ids['Marie']} is already registered in {seance}"

    other = page.context.new_page()
    _watch(browser, other)
    for shown in (page, other):
        shown.goto(f"{url}/seances/{seance}")
        shown.wait_for_selector("#link.live", timeout=DEADLINE_MS)
        shown.evaluate("window.monclubTestMark = 'no reload'")
    with tree.client() as client:
        client.desinscrire(seance, ids["Paul"])
        client.inscrire(seance, ids["Paul"])
    for shown in (page, other):
        _shows(shown, "inscrits", ["Marie", "Ines", "Hugo"])
        _shows(shown, "attente", ["Lea", "Paul"])
        shown.wait_for_function(
            "line => document.getElementById('timeline-lines').textContent.endsWith(line)",
            arg=" membre_mis_en_attente Paul (attente 2)",
            timeout=DEADLINE_MS,
        )
        assert shown.evaluate("window.monclubTestMark") == "no reload", "the page was reloaded"
    browser.screenshot("seance")
    page.goto(f"{url}/seances")
    browser.screenshot("seances")

    wait_for(lambda: sql.execute("SELECT count(*) FROM paiements").fetchone()[0] >= 3, 30, "the payments")
    page.goto(f"{url}/paiements")
    paiement = page.locator('#paiements tr[data-statut="en_attente"]').first.get_attribute("data-paiement")
    page.click(f"#regler-{paiement}")
    page.wait_for_selector("#outcome")
    assert _said(page) == f"paiement {paiement} paye (8.00 EUR)"
    assert page.locator(f'#paiements tr[data-paiement="{paiement}"]').get_attribute("data-statut") == "paye"
    browser.screenshot("paiements")

    other.goto(f"{url}/events")
    other.wait_for_selector("#link.live", timeout=DEADLINE_MS)
    other.evaluate("window.monclubTestMark = 'no reload'")
    page.goto(f"{url}/livres")
    page.fill("#ajouter input[name=titre]", "Le Chien jaune")
    page.click("#ajouter button")
    page.wait_for_selector("#outcome")
    livre = page.locator("#livres tr").nth(1).get_attribute("data-livre")
    page.select_option("#emprunter select[name=livre]", livre)
    page.select_option("#emprunter select[name=membre]", str(ids["Ines"]))
    page.click("#emprunter button")
    page.wait_for_selector("#outcome")
    assert _said(page).startswith(f"{livre}: pret to membre {ids['Ines']} until ")
    other.wait_for_function(
        "livre => document.querySelector('#events-body tr')?.children[3].textContent === 'livre/' + livre",
        arg=livre,
        timeout=DEADLINE_MS,
    )
    assert other.evaluate("window.monclubTestMark") == "no reload", "the events page was reloaded"
    browser.screenshot("livres")
    page.click(f"#retourner-{livre}")
    page.wait_for_selector("#outcome")
    assert _said(page) == f"{livre}: returned by membre {ids['Ines']}, on time"
    assert sql.execute("SELECT emprunteur FROM livres").fetchone()[0] is None
    assert browser.troubles == []


def test_a_double_submit_is_applied_once_and_a_seance_is_used_with_the_keyboard_and_without_script(web, sql, browser):
    tree, url = web
    page = browser.page
    page.goto(f"{url}/membres")
    page.fill("#creer-membre input[name=nom]", "Marie")
    page.dblclick("#creer-membre button")
    # The second submit may abort the first's navigation (net::ERR_ABORTED), which wait_for_url
    # raises: the page's address is polled instead, until it is a membre's.
    expect(page).to_have_url(re.compile(r"/membres/[^/]+$"), timeout=DEADLINE_MS)
    assert sql.execute("SELECT nom FROM membres").fetchall() == [("Marie",)]
    first_answer = _said(page)
    page.go_back()
    page.wait_for_url("**/membres")
    page.fill("#creer-membre input[name=nom]", "Marie")
    page.click("#creer-membre button")
    page.wait_for_url("**/membres/*")
    assert _said(page) == first_answer, "the back button then send again: the first answer"
    assert sql.execute("SELECT nom FROM membres").fetchall() == [("Marie",)]
    page.goto(f"{url}/membres")
    sent_twice = """async () => {
        const form = document.getElementById("creer-membre");
        form.elements.nom.value = "Paul";
        const body = () => new URLSearchParams(new FormData(form));
        const answers = await Promise.all([1, 2].map(() => fetch(form.action, {method: "POST", body: body()})));
        return Promise.all(answers.map(a => a.text().then(t => t.match(/<p id="outcome"[^>]*>([^<]*)/)[1])));
    }"""
    first, second = page.evaluate(sent_twice)
    paul = sql.execute("SELECT id FROM membres WHERE nom = 'Paul'").fetchone()[0]
    assert first == second == f"membre {paul}: Paul"
    assert sql.execute("SELECT count(*) FROM membres").fetchone()[0] == 2

    with tree.client() as client:
        client.creer("polar", "Soirée Polar", places=2, attente=0)
    page.goto(f"{url}/seances")
    _tab_to(page, 'a[href="/seances/polar"]')
    page.keyboard.press("Enter")
    page.wait_for_url("**/seances/polar")
    _tab_to(page, "#inscrire select")
    page.keyboard.press("ArrowDown")
    _tab_to(page, "#inscrire button")
    page.keyboard.press("Enter")
    page.wait_for_selector("#outcome")
    assert _said(page).startswith("membre ") and _noms(page, "inscrits") == ["Marie"]
    _tab_to(page, f"#desinscrire-{sql.execute('SELECT id FROM membres WHERE nom = %s', ('Marie',)).fetchone()[0]}")
    page.keyboard.press("Enter")
    page.wait_for_selector("#outcome")
    assert "desinscrit from polar" in _said(page) and _noms(page, "inscrits") == []
    page.route("**/static/live.js", lambda route: route.fulfill(body="", content_type="text/javascript"))
    page.goto(f"{url}/seances/polar")
    page.select_option("#inscrire select[name=membre]", label=f"Paul ({paul})")
    page.click("#inscrire button")
    page.wait_for_selector("#outcome")
    assert _said(page) == f"membre {paul} inscrit on polar" and _noms(page, "inscrits") == ["Paul"], "without script"
    page.unroute("**/static/live.js")
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(f"{url}/seances/polar")
    assert page.evaluate("document.documentElement.scrollWidth <= 390"), "one column on a phone"
    browser.screenshot("seance-phone")
    assert browser.troubles == []


def _tab_to(page, selector: str, presses: int = 60) -> None:
    """Press Tab until the element `selector` has the focus (the keyboard alone reaches it)."""
    for _ in range(presses):
        if page.evaluate("s => document.activeElement === document.querySelector(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} was not reached with Tab in {presses} presses")
