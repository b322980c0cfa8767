"""The live pages in a real browser (headless Chromium) on a real tree."""

import os
import signal

import httpx
import pytest

from tests.fixtures.postgres import add_membres
from tests.fixtures.waiting import wait_for
from tests.fixtures.web import web_url

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
TOKEN = "browser-test-token-0123456789"
DEADLINE_MS = 10_000


def _membre_shown(browser, membre: int, timeout: int = DEADLINE_MS) -> None:
    browser.page.wait_for_function(
        "membre => [...document.querySelectorAll('#inscrits li')].some(li => li.textContent === 'membre ' + membre)",
        arg=membre,
        timeout=timeout,
    )


def _open_seance(browser, url: str, seance: str) -> None:
    browser.page.goto(f"{url}/seances/{seance}")
    browser.page.wait_for_selector("#link.live", timeout=DEADLINE_MS)
    browser.mark()


def test_a_registration_through_the_zeromq_client_appears_on_an_open_seance_page(web, sql, browser):
    tree, url = web
    marie, paul = add_membres(sql, 2)
    with tree.client() as client:
        client.creer("polar", "Soirée Polar", places=1, attente=2)
        client.inscrire("polar", marie)
    _open_seance(browser, url, "polar")
    _membre_shown(browser, marie)
    with tree.client() as client:
        client.desinscrire("polar", marie)
        client.inscrire("polar", paul)
    _membre_shown(browser, paul)
    assert browser.page.locator("#inscrits li").all_text_contents() == [f"membre {paul}"]
    owner = browser.page.locator("#owner").text_content()
    assert owner.startswith("owner: reunions/shard-") and f"on node {tree.config.node}, partition " in owner
    assert owner.rsplit(" epoch ", 1)[1].isdigit()
    assert browser.kept_mark(), "the page was reloaded"
    browser.screenshot("seance")
    assert browser.troubles == []


def _with_actions(start_tree, tmp_path):
    config = tmp_path / "monclub.toml"
    config.write_text("[web]\nactions = true\n")
    tree = start_tree(MONCLUB_CONFIG=str(config), MONCLUB_WEB_TOKEN=TOKEN)
    return tree, web_url(tree)


def _row(browser, place: str):
    return browser.page.locator(f'#tree tr[data-place="{place}"]')


def test_the_kill_button_of_a_shard_shows_it_die_and_come_back_with_a_new_pid(start_tree, tmp_path, browser):
    tree, url = _with_actions(start_tree, tmp_path)
    browser.page.goto(url)
    row = _row(browser, "reunions/shard-0")
    row.wait_for(timeout=DEADLINE_MS)
    old = int(row.get_attribute("data-pid"))
    browser.page.fill("#token", TOKEN)
    row.locator("button.kill").click()
    browser.page.wait_for_function(
        """old => {
            const row = document.querySelector('#tree tr[data-place="reunions/shard-0"]');
            return row.dataset.state === 'running' && row.dataset.pid && Number(row.dataset.pid) !== old
                && row.querySelector('td.back').textContent.endsWith(' s');
        }""",
        arg=old,
        timeout=DEADLINE_MS,
    )
    assert browser.page.locator("#kill-result").text_content() == f"killed reunions/shard-0 (pid {old})"
    assert not os.path.exists(f"/proc/{old}")
    browser.screenshot("tree")
    assert browser.troubles == []


def test_a_kill_needs_the_token_and_a_post(start_tree, tmp_path):
    tree, url = _with_actions(start_tree, tmp_path)
    pid = tree.pids()["relay"]
    with httpx.Client(base_url=url) as http:
        assert http.get("/api/kill/relay").status_code == 405
        assert http.post("/api/kill/relay").status_code == 403
        wrong = {"Authorization": "Bearer " + "x" * 30}
        assert http.post("/api/kill/relay", headers=wrong).status_code == 403
        foreign = {"Authorization": f"Bearer {TOKEN}", "Origin": "http://evil.example"}
        assert http.post("/api/kill/relay", headers=foreign).status_code == 403
        assert tree.pids()["relay"] == pid
        assert http.post("/api/kill/supervisord", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 422
        done = http.post("/api/kill/relay", headers={"Authorization": f"Bearer {TOKEN}"})
        assert done.status_code == 200 and done.json() == {"place": "relay", "pid": pid, "killed": True}
        web = tree.pids()["web"]
        itself = http.post("/api/kill/web", headers={"Authorization": f"Bearer {TOKEN}"})
        assert itself.status_code == 200 and itself.json()["pid"] == web, "answered before it dies"
    wait_for(lambda: tree.pids()["web"] not in (None, web), 30, "web restarted", interval=0.1)
    assert web_url(tree) == url and httpx.get(f"{url}/api/ping").json() == {"ok": True}


def test_an_open_page_reconnects_by_itself_after_kill_9_of_web(web, sql, browser):
    tree, url = web
    marie, paul = add_membres(sql, 2)
    with tree.client() as client:
        client.creer("polar", "Soirée Polar", places=3)
        client.inscrire("polar", marie)
    _open_seance(browser, url, "polar")
    _membre_shown(browser, marie)
    old = tree.kill("web")
    wait_for(lambda: tree.pids()["web"] not in (None, old), 30, "web restarted", interval=0.1)
    assert web_url(tree) == url, "the restarted web program serves the same port"
    with tree.client() as client:
        client.inscrire("polar", paul)
    _membre_shown(browser, paul, timeout=15_000)
    assert browser.kept_mark(), "the page was reloaded"


def test_a_page_carries_on_through_kills_of_the_bus_and_the_relay(web, sql, browser):
    """Without a bus message the feed reads PostgreSQL every second: nothing is missed."""
    tree, url = web
    marie, paul, ines = add_membres(sql, 3)
    with tree.client() as client:
        client.creer("polar", "Soirée Polar", places=3)
        client.inscrire("polar", marie)
    _open_seance(browser, url, "polar")
    _membre_shown(browser, marie)
    tree.kill("bus")
    tree.kill("relay")
    with tree.client() as client:
        client.inscrire("polar", paul)
    _membre_shown(browser, paul)
    tree.wait_healthy()
    with tree.client() as client:
        client.inscrire("polar", ines)
    _membre_shown(browser, ines)
    assert browser.kept_mark(), "the page was reloaded"
    assert browser.troubles == []


def test_an_open_page_and_the_api_recover_by_themselves_after_kill_9_of_postgres(daemon_env, browser):
    cli, home = daemon_env
    cli.run("start")
    url = next(p["url"] for p in cli.status()["programs"] if p["name"] == "web").rstrip("/")
    with httpx.Client(base_url=url, timeout=30) as http:
        marie, paul = (http.post("/api/membres", json={"nom": nom}).json()["id"] for nom in ("Marie", "Paul"))
        assert http.post("/api/seances", json={"id": "polar", "titre": "Soirée Polar", "places": 3}).is_success
        assert http.post("/api/seances/polar/inscrire", json={"membre": marie}).is_success
        _open_seance(browser, url, "polar")
        _membre_shown(browser, marie)
        os.kill(cli.program("postgres")["pid"], signal.SIGKILL)
        key = {"Idempotency-Key": "after-postgres-kill"}
        # While the database is down the API may answer 503 with Retry-After (a pooled connection
        # that died with it): resent with the same key, as a client does, until it is back.
        answer = wait_for(
            lambda: (
                (a := http.post("/api/seances/polar/inscrire", json={"membre": paul}, headers=key)).status_code != 503
                and a
            ),
            60,
            "the registration to be answered once the database is back",
            interval=0.5,
        )
        assert answer.status_code == 200, answer.text
        _membre_shown(browser, paul)
        wait_for(lambda: http.get("/api/status").json()["healthy"], 60, "the tree healthy again", interval=0.2)
    assert cli.program("postgres")["restarts"] == 1
    assert browser.kept_mark(), "the page was reloaded"
