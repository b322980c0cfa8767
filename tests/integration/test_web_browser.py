"""The live pages in a real browser (headless Chromium) on a real tree."""

import os
import re
import signal

import httpx
import pytest

from tests.fixtures.postgres import add_membres
from tests.fixtures.waiting import wait_for
from tests.fixtures.web import web_url

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
TOKEN = "browser-test-token-0123456789"
DEADLINE_MS = 10_000


def _membre_shown(browser, nom: str, timeout: int = DEADLINE_MS) -> None:
    """Wait until the séance page shows `nom` among its inscrits (add_membres names them `membre N`)."""
    browser.page.wait_for_function(
        "wanted => [...document.querySelectorAll('#inscrits li .nom')].some(nom => nom.textContent === wanted)",
        arg=nom,
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
    _membre_shown(browser, f"membre {marie}")
    with tree.client() as client:
        client.desinscrire("polar", marie)
        client.inscrire("polar", paul)
    _membre_shown(browser, f"membre {paul}")
    assert browser.page.locator("#inscrits li .nom").all_text_contents() == [f"membre {paul}"]
    owner = browser.page.locator("#owner").text_content()
    assert owner.startswith("owner: reunions/shard-") and f" on {tree.config.node}, partition " in owner
    assert owner.rsplit(" epoch ", 1)[1].isdigit()
    assert browser.kept_mark(), "the page was reloaded"
    browser.screenshot("seance")
    assert browser.troubles == []


OWNED = """
SELECT count(*) FROM partitions
WHERE owner_host = %s AND branch <> 'relay' AND endpoint IS NOT NULL AND lease_until > now()
"""


def _owned(sql, node: str) -> int:
    return sql.execute(OWNED, (node,)).fetchone()[0]


def _node_row(browser, node: str) -> dict | None:
    """The Cluster section's row of `node` as the page shows it: its data attributes."""
    return browser.page.evaluate(
        'node => { const row = document.querySelector(`#cluster tr[data-node="${node}"]`);'
        " return row ? {...row.dataset, text: row.textContent} : null; }",
        node,
    )


def _is_live(browser, node: str) -> bool:
    return (_node_row(browser, node) or {}).get("state") == "live"


def _shows_owning(browser, sql, node: str) -> dict | None:
    """The row of a live `node` once it shows as many partitions as the database gives it (at least one)."""
    row = _node_row(browser, node)
    owned = _owned(sql, node)
    return row if row and row["state"] == "live" and owned and row["owns"] == str(owned) else None


def test_the_tree_page_shows_every_node_of_the_cluster_and_a_stopped_one_leaves_the_live(
    web, sql, browser, start_reunions, state_dirs
):
    tree, url = web
    here = tree.config.node
    tree.wait_healthy()
    browser.page.goto(url)
    partitions = tree.config.partitions + tree.config.pret_partitions
    wait_for(lambda: _owned(sql, here) == partitions, 30, "this node to own every partition")
    row = wait_for(lambda: _shows_owning(browser, sql, here), 10, "this node's row with its partitions", 0.1)
    assert row["this"] == "yes" and row["owns"] == str(partitions)
    assert "reunions 0-15" in row["text"] and "prets 0-7" in row["text"], row["text"]
    assert browser.page.locator("#cluster tr").count() == 1 + 1, "a header and this node"
    servers = browser.page.locator("#database tbody tr")
    assert servers.count() == 1 and servers.first.get_attribute("data-role") == "primary", "the one PostgreSQL"

    other = start_reunions(home=state_dirs(), config='[cluster]\nnode = "other"\n')
    row = wait_for(lambda: _shows_owning(browser, sql, "other"), 30, "the other node's row with its partitions", 0.1)
    assert row["this"] == "no"
    assert _node_row(browser, here)["this"] == "yes"
    other.stop()
    wait_for(lambda: not _is_live(browser, "other"), 15, "the stopped node to leave the live", 0.1)
    assert _is_live(browser, here)
    assert browser.troubles == []


def _with_actions(start_tree, tmp_path):
    config = tmp_path / "monclub.toml"
    config.write_text("[web]\nactions = true\n")
    tree = start_tree(MONCLUB_CONFIG=str(config), MONCLUB_WEB_TOKEN=TOKEN)
    return tree, web_url(tree)


def _row(browser, place: str):
    return browser.page.locator(f'#tree tr[data-place="{place}"]')


RECORD = """place => {
    // Every (state, pid) the row of `place` goes through, one entry per change (each SSE message
    // is drawn in a task of its own, and the observer runs after each).
    window.monclubSeen = [];
    const record = () => {
        const row = document.querySelector(`#tree tr[data-place="${place}"]`);
        const last = window.monclubSeen[window.monclubSeen.length - 1];
        if (row && (!last || last.state !== row.dataset.state || last.pid !== row.dataset.pid))
            window.monclubSeen.push({state: row.dataset.state, pid: row.dataset.pid});
    };
    const all = {subtree: true, childList: true, attributes: true};
    new MutationObserver(record).observe(document.getElementById("tree"), all);
    record();
}"""
DOWN_THEN_BACK = """old => {
    const seen = window.monclubSeen;
    const down = seen.findIndex(s => s.state === "down");
    return down >= 0 && seen.slice(down).some(s => s.state === "running" && s.pid && Number(s.pid) !== old);
}"""


def _history(browser, place: str):
    return browser.page.locator(f'#history tr[data-place="{place}"]')


def test_the_kill_button_of_a_shard_shows_it_down_then_running_with_a_new_pid(start_tree, tmp_path, browser):
    tree, url = _with_actions(start_tree, tmp_path)
    tree.wait_healthy()
    browser.page.goto(url)
    row = _row(browser, "reunions/shard-0")
    browser.page.wait_for_function(
        "() => document.querySelector('#tree tr[data-place=\"reunions/shard-0\"]')?.dataset.state === 'running'",
        timeout=DEADLINE_MS,
    )
    old = int(row.get_attribute("data-pid"))
    browser.page.evaluate(RECORD, "reunions/shard-0")
    browser.page.fill("#token", TOKEN)
    row.locator("button.kill").click()
    browser.page.wait_for_function(DOWN_THEN_BACK, arg=old, timeout=DEADLINE_MS)
    seen = browser.page.evaluate("window.monclubSeen")
    down = next(i for i, s in enumerate(seen) if s["state"] == "down")
    assert all(s == {"state": "running", "pid": str(old)} for s in seen[:down]), seen
    assert not any(s["state"] == "running" and s["pid"] == str(old) for s in seen[down:]), seen
    new = int(row.get_attribute("data-pid"))
    assert new != old and not os.path.exists(f"/proc/{old}")
    assert browser.page.locator("#kill-result").text_content() == f"killed reunions/shard-0 (pid {old})"
    assert re.fullmatch(r"back in \d+ ms", row.locator("td.back").text_content())
    history = _history(browser, "reunions/shard-0")
    history.wait_for(timeout=DEADLINE_MS)
    assert (history.get_attribute("data-old"), history.get_attribute("data-new")) == (str(old), str(new))
    assert history.get_attribute("data-exact") == "yes"
    browser.screenshot("tree")
    assert browser.troubles == []


def test_a_kill_9_from_a_terminal_shows_in_the_history_to_within_one_read(start_tree, tmp_path, browser):
    tree, url = _with_actions(start_tree, tmp_path)
    tree.wait_healthy()
    browser.page.goto(url)
    _row(browser, "prets/shard-1").wait_for(timeout=DEADLINE_MS)
    browser.page.wait_for_selector('#tree tr[data-place="prets/shard-1"][data-state="running"]', timeout=DEADLINE_MS)
    old = tree.kill("prets/shard-1")
    history = _history(browser, "prets/shard-1")
    history.wait_for(timeout=DEADLINE_MS)
    assert history.get_attribute("data-old") == str(old) and history.get_attribute("data-new") not in ("", str(old))
    assert history.get_attribute("data-exact") == "no"
    assert "within" in history.locator("td.down").text_content()
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
    _membre_shown(browser, f"membre {marie}")
    old = tree.kill("web")
    wait_for(lambda: tree.pids()["web"] not in (None, old), 30, "web restarted", interval=0.1)
    assert web_url(tree) == url, "the restarted web program serves the same port"
    with tree.client() as client:
        client.inscrire("polar", paul)
    _membre_shown(browser, f"membre {paul}", timeout=15_000)
    assert browser.kept_mark(), "the page was reloaded"


def test_a_page_carries_on_through_kills_of_the_bus_and_the_relay(web, sql, browser):
    """Without a bus message the feed reads PostgreSQL every second: nothing is missed."""
    tree, url = web
    marie, paul, ines = add_membres(sql, 3)
    with tree.client() as client:
        client.creer("polar", "Soirée Polar", places=3)
        client.inscrire("polar", marie)
    _open_seance(browser, url, "polar")
    _membre_shown(browser, f"membre {marie}")
    tree.kill("bus")
    tree.kill("relay")
    with tree.client() as client:
        client.inscrire("polar", paul)
    _membre_shown(browser, f"membre {paul}")
    tree.wait_healthy()
    with tree.client() as client:
        client.inscrire("polar", ines)
    _membre_shown(browser, f"membre {ines}")
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
        _membre_shown(browser, "Marie")
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
        _membre_shown(browser, "Paul")
        wait_for(lambda: http.get("/api/status").json()["healthy"], 60, "the tree healthy again", interval=0.2)
    assert cli.program("postgres")["restarts"] == 1
    assert browser.kept_mark(), "the page was reloaded"
