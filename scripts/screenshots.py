"""Photograph the pages for the README and docs/http.md (run by scripts/screenshots)."""

import sys
import tempfile
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.browser import chromium, own_monclub  # noqa: E402

DOCS = Path(__file__).resolve().parents[1] / "docs"
TOKEN = "screenshots-token-0123456789"
DEADLINE_MS = 15_000


def populate(url: str) -> None:
    """A club with a full séance and its waiting list, another one, and copies out on loan."""
    with httpx.Client(base_url=url, timeout=30) as http:
        membres = [http.post("/api/membres", json={"nom": nom}).json()["id"] for nom in NOMS]
        polar = {"id": "polar", "titre": "Soirée Polar", "places": 4, "attente": 3, "tarif": 800}
        http.post("/api/seances", json={**polar, "quand": "2026-12-10T19:00:00+01:00"})
        manga = {"id": "manga", "titre": "Club Manga", "places": 10, "quand": "2026-12-12T15:00:00+01:00"}
        http.post("/api/seances", json=manga)
        http.post("/api/seances", json={"id": "atelier", "titre": "Atelier d'écriture", "places": 8})
        http.post("/api/seances/atelier/annuler")
        for membre in membres[:6]:
            http.post("/api/seances/polar/inscrire", json={"membre": membre})
        http.post("/api/seances/polar/desinscrire", json={"membre": membres[1]})
        http.post("/api/seances/manga/inscrire", json={"membre": membres[6]})
        for livre, titre in (("dune", "Dune"), ("fondation", "Fondation"), ("hyperion", "Hypérion")):
            http.post("/api/livres", json={"id": livre, "titre": titre})
        http.post("/api/livres/dune/emprunter", json={"membre": membres[0]})
        http.post("/api/livres/fondation/emprunter", json={"membre": membres[2], "jours": 7})
        http.post("/api/livres/fondation/prolonger", json={"membre": membres[2]})


NOMS = ["Marie", "Paul", "Inès", "Karim", "Léa", "Hugo", "Chloé"]


def shoot(url: str, user_data: Path) -> None:
    with sync_playwright() as playwright:
        context = chromium(playwright, user_data)
        page = context.new_page()
        page.goto(url)
        page.fill("#token", TOKEN)
        page.locator('#tree tr[data-place="reunions/shard-1"] button.kill').click()
        back = "document.querySelector('#tree tr[data-place=\"reunions/shard-1\"] td.back')"
        page.wait_for_function(f"() => {back}.textContent.startsWith('back in ')", timeout=DEADLINE_MS)
        page.wait_for_selector("#cluster tbody tr", timeout=DEADLINE_MS)
        page.fill("#token", "")
        page.screenshot(path=DOCS / "web-tree.png", full_page=True)
        for path, name, ready in PAGES:
            page.goto(url + path)
            page.wait_for_selector(ready, timeout=DEADLINE_MS)
            page.screenshot(path=DOCS / f"web-{name}.png", full_page=True)
        page.set_viewport_size({"width": 390, "height": 760})
        page.goto(url + "/seances/polar")
        page.screenshot(path=DOCS / "web-seance-phone.png")
        context.close()


PAGES = (
    ("/seances", "seances", "#seances tbody tr"),
    ("/seances/polar", "seance", "#link.live"),
    ("/membres", "membres", "#membres tbody tr"),
    ("/membres/1", "membre", "#inscriptions tbody tr"),
    ("/livres", "livres", "#link.live"),
    ("/livres/fondation", "livre", "#timeline-lines"),
    ("/paiements", "paiements", "#paiements tbody tr[data-paiement]"),
    ("/events", "events", "#events tbody tr"),
)
"""The pages photographed: path, name (docs/web-NAME.png), what shows it is ready."""


def main() -> int:
    config = f'[club]\ntimezone = "Europe/Paris"\n[reunions]\nshards = 2\n[web]\nactions = true\ntoken = "{TOKEN}"\n'
    with own_monclub(config) as (env, url, home), tempfile.TemporaryDirectory() as scratch:
        populate(url)
        shoot(url, Path(scratch) / "profile")
    names = ("tree", *(name for _, name, _ in PAGES), "seance-phone")
    print("wrote", ", ".join(f"docs/web-{name}.png" for name in names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
