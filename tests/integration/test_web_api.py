"""The HTTP JSON API on a real tree: real uvicorn on its ephemeral loopback port, real httpx."""

import asyncio
import os
import signal
import uuid

import httpx
import pytest

from monclub import config as configuration
from monclub.supervision.rpc import rpc
from tests.fixtures.postgres import add_membres
from tests.fixtures.processes import home_shard
from tests.fixtures.waiting import wait_for
from tests.fixtures.web import web_url

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
PROBLEM = "application/problem+json"


def _problem(answer: httpx.Response, status: int, code: str) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    body = answer.json()
    assert body["code"] == code and body["status"] == status and body["detail"], body
    return body


def _counts(sql) -> tuple:
    return sql.execute(
        "SELECT (SELECT seq FROM outbox_sequence), (SELECT count(*) FROM membres), (SELECT count(*) FROM livres)"
    ).fetchone()


def test_the_same_key_twice_is_applied_once_and_another_body_with_it_is_refused(http, sql):
    marie, paul = add_membres(sql, 2)
    assert http.post("/api/seances", json={"id": "polar", "titre": "Soirée Polar", "places": 5}).status_code == 201
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = http.post("/api/seances/polar/inscrire", json={"membre": marie}, headers=key)
    again = http.post("/api/seances/polar/inscrire", json={"membre": marie}, headers=key)
    assert first.status_code == again.status_code == 200 and first.json() == again.json() == {"statut": "inscrit"}
    assert sql.execute("SELECT count(*) FROM events WHERE type = 'membre_inscrit'").fetchone()[0] == 1

    other = http.post("/api/seances/polar/inscrire", json={"membre": paul}, headers=key)
    _problem(other, 422, "idempotency_key_reused")
    assert http.get("/api/seances/polar").json()["inscrits"] == [marie]

    membre_key = {"Idempotency-Key": str(uuid.uuid4())}
    created = [http.post("/api/membres", json={"nom": "Zoé"}, headers=membre_key) for _ in range(2)]
    assert [c.status_code for c in created] == [201, 201] and created[0].json() == created[1].json()
    assert sql.execute("SELECT count(*) FROM membres WHERE nom = 'Zoé'").fetchone()[0] == 1

    seance_key = {"Idempotency-Key": str(uuid.uuid4())}
    made = [http.post("/api/seances", json={"titre": "Club Manga", "places": 3}, headers=seance_key) for _ in range(2)]
    assert made[0].status_code == made[1].status_code == 201 and made[0].json()["id"] == made[1].json()["id"]
    assert sql.execute("SELECT count(*) FROM seances WHERE titre = 'Club Manga'").fetchone()[0] == 1


def test_64_concurrent_registrations_on_10_places_make_exactly_10_inscrits(web, sql):
    tree, url = web
    membres = add_membres(sql, 64)
    with httpx.Client(base_url=url) as http:
        assert http.post("/api/seances", json={"id": "hot", "titre": "Hot", "places": 10, "attente": 20}).is_success

    async def register_all() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=64)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
            return await asyncio.gather(
                *(client.post("/api/seances/hot/inscrire", json={"membre": m}) for m in membres)
            )

    answers = asyncio.run(register_all())
    outcomes = [a.json().get("statut") or a.json()["code"] for a in answers]
    assert outcomes.count("inscrit") == 10 and outcomes.count("en_attente") == 20
    assert outcomes.count("seance_complete") == 34, outcomes
    assert all(a.status_code == 409 for a in answers if a.status_code != 200)
    etat = httpx.get(f"{url}/api/seances/hot").json()
    assert len(etat["inscrits"]) == 10 and len(etat["attente"]) == 20
    assert "verify: no violation" in tree.monclub("verify").stdout


BAD = [
    ("POST", "/api/seances", b"{not json", 422, "invalid_request"),
    ("POST", "/api/seances", b"[1, 2]", 422, "invalid_request"),
    ("POST", "/api/seances", b'{"titre": "' + b"x" * 20000 + b'", "places": 1}', 413, "payload_too_large"),
    ("POST", "/api/seances", {"places": 3}, 422, "invalid_request"),
    ("POST", "/api/seances", {"titre": "T", "places": 3, "v": 2}, 422, "invalid_request"),
    ("POST", "/api/seances", {"titre": "T", "places": "3"}, 422, "invalid_request"),
    ("POST", "/api/seances", {"titre": "T", "places": -1}, 422, "invalid_request"),
    ("POST", "/api/seances", {"titre": "T", "places": 100_001}, 422, "invalid_request"),
    ("POST", "/api/seances", {"titre": "T", "places": True}, 422, "invalid_request"),
    ("POST", "/api/seances", {"titre": " ", "places": 1}, 422, "invalid_request"),
    ("POST", "/api/seances", {"titre": "x" * 201, "places": 1}, 422, "invalid_request"),
    ("POST", "/api/seances", {"id": "x" * 65, "titre": "T", "places": 1}, 422, "invalid_request"),
    ("POST", "/api/seances", {"id": "a b", "titre": "T", "places": 1}, 422, "invalid_request"),
    ("POST", "/api/seances", {"titre": "T", "places": 1, "tarif": 10**9}, 422, "invalid_request"),
    ("POST", "/api/seances/polar/inscrire", {"membre": "1"}, 422, "invalid_request"),
    ("POST", "/api/seances/polar/inscrire", {"membre": 0}, 422, "invalid_request"),
    ("POST", "/api/seances/polar/inscrire", {}, 422, "invalid_request"),
    ("POST", "/api/seances/polar/inscrire", {"membre": 999_999}, 404, "membre_inconnu"),
    ("POST", "/api/seances/nope/inscrire", {"membre": 1}, 404, "seance_inconnue"),
    ("POST", "/api/seances/nope/desinscrire", {"membre": 1}, 404, "seance_inconnue"),
    ("POST", "/api/seances/polar/desinscrire", {"membre": 1}, 409, "non_inscrit"),
    ("POST", "/api/seances/polar/places", {"places": 100_001}, 422, "invalid_request"),
    ("POST", "/api/seances/nope/annuler", {}, 404, "seance_inconnue"),
    ("GET", "/api/seances/a%20b", None, 422, "invalid_request"),
    ("GET", "/api/seances/nope", None, 404, "seance_inconnue"),
    ("GET", "/api/seances/polar/inscrire", None, 405, "method_not_allowed"),
    ("POST", "/api/membres", {"nom": ""}, 422, "invalid_request"),
    ("POST", "/api/membres", {"nom": "Marie", "email": "not an address"}, 422, "invalid_request"),
    ("POST", "/api/membres", {"nom": "Marie", "password": "x"}, 422, "invalid_request"),
    ("POST", "/api/livres", {"titre": 5}, 422, "invalid_request"),
    ("POST", "/api/livres/dune/emprunter", {"membre": 1, "jours": 0}, 422, "invalid_request"),
    ("POST", "/api/livres/dune/emprunter", {"membre": 1, "jours": 366}, 422, "invalid_request"),
    ("POST", "/api/livres/nope/emprunter", {"membre": 1}, 404, "livre_inconnu"),
    ("POST", "/api/livres/dune/retourner", {"membre": 1}, 409, "non_emprunte"),
    ("POST", "/api/paiements/abc/regler", {}, 422, "invalid_request"),
    ("POST", "/api/paiements/77/regler", {}, 404, "paiement_inconnu"),
    ("GET", "/api/events?from=0", None, 422, "invalid_request"),
    ("GET", "/api/events?from=abc", None, 422, "invalid_request"),
    ("GET", "/api/events?limit=0", None, 422, "invalid_request"),
    ("GET", "/api/notifications?membre=-1", None, 422, "invalid_request"),
    ("GET", "/api/paiements?seance=a%20b", None, 422, "invalid_request"),
    ("GET", "/api/nowhere", None, 404, "not_found"),
]


def test_bad_input_of_every_kind_gets_a_4xx_problem_and_nothing_is_applied(http, sql):
    (membre,) = add_membres(sql, 1)
    assert http.post("/api/seances", json={"id": "polar", "titre": "Soirée Polar", "places": 1}).is_success
    assert http.post("/api/livres", json={"id": "dune", "titre": "Dune"}).is_success
    before = _counts(sql)
    for method, path, body, status, code in BAD:
        content = body if isinstance(body, bytes) else None
        payload = body if isinstance(body, dict) else None
        headers = {"Content-Type": "application/json"} if content is not None else None
        answer = http.request(method, path, content=content, json=payload, headers=headers)
        _problem(answer, status, code)
        assert "Traceback" not in answer.text
    short_key = http.post("/api/seances/polar/inscrire", json={"membre": membre}, headers={"Idempotency-Key": "k"})
    assert _problem(short_key, 422, "invalid_request")["detail"].startswith("Idempotency-Key must be")
    assert _counts(sql) == before


def test_a_bind_beyond_loopback_without_a_token_refuses_to_start(web):
    tree, url = web
    assert httpx.get(f"{url}/api/status").json()["healthy"]
    tree.monclub("stop")
    tree.env["MONCLUB_WEB_BIND"] = "0.0.0.0"
    refused = tree.monclub("start", check=False)
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: config: web.bind = 0.0.0.0 is beyond loopback: set web.token")
    assert tree.status()["supervisord"]["pid"] is None, "nothing was started"


def test_metrics_count_the_commands_here_and_in_the_shards_without_writing_anything(http, sql):
    (membre,) = add_membres(sql, 1)
    assert http.post("/api/seances", json={"id": "polar", "titre": "Polar", "places": 1}).is_success
    assert http.post("/api/seances/polar/inscrire", json={"membre": membre}).is_success
    assert http.post("/api/seances/polar/inscrire", json={"membre": membre}).status_code == 409
    before = _counts(sql)
    answer = http.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    lines = answer.text.splitlines()
    assert 'monclub_http_commands_total{branch="reunions",op="inscrire",outcome="ok"} 1.0' in lines
    assert 'monclub_http_commands_total{branch="reunions",op="inscrire",outcome="deja_inscrit"} 1.0' in lines
    shard = [line for line in lines if line.startswith("monclub_shard_commands_total") and 'op="inscrire"' in line]
    assert sorted(line.rsplit(" ", 1)[1] for line in shard) == ["1.0", "1.0"]
    assert any(line.startswith("monclub_shard_batch_size_count") and not line.endswith(" 0.0") for line in lines)
    assert any(line.startswith("monclub_shard_commit_seconds_bucket") for line in lines)
    assert 'monclub_process_restarts{place="web"} 0.0' in lines
    assert any(line.startswith('monclub_listener_lag{listener="paiements"}') for line in lines)
    assert any(line.startswith("monclub_outbox_depth ") for line in lines)
    database = [line for line in lines if line.startswith(("monclub_database_primary{", "monclub_database_timeline{"))]
    assert [line.rsplit(" ", 1)[1] for line in database] == ["1.0", "1.0"], "the one PostgreSQL: primary, timeline 1"
    assert _counts(sql) == before


def test_an_unknown_outcome_is_a_504_and_the_same_key_sent_again_applies_it_once(start_tree, tmp_path, sql):
    config = tmp_path / "monclub.toml"
    config.write_text("[client]\nattempt_timeout = 0.3\ndeadline = 2.0\n")
    tree = start_tree(MONCLUB_CONFIG=str(config))
    url = web_url(tree)
    (membre,) = add_membres(sql, 1)
    with httpx.Client(base_url=url, timeout=30) as http:
        assert http.post("/api/seances", json={"id": "polar", "titre": "Polar", "places": 3}).is_success
        shard = tree.pids()[f"reunions/shard-{home_shard(tree.config, 'polar')}"]
        key = {"Idempotency-Key": str(uuid.uuid4())}
        os.kill(shard, signal.SIGSTOP)
        try:
            lost = http.post("/api/seances/polar/inscrire", json={"membre": membre}, headers=key)
        finally:
            os.kill(shard, signal.SIGCONT)
        problem = _problem(lost, 504, "timeout")
        assert "same Idempotency-Key" in problem["resend"]
        again = http.post("/api/seances/polar/inscrire", json={"membre": membre}, headers=key)
        assert again.status_code == 200 and again.json() == {"statut": "inscrit"}
        assert http.get("/api/seances/polar").json()["inscrits"] == [membre]
    assert sql.execute("SELECT count(*) FROM events WHERE type = 'membre_inscrit'").fetchone()[0] == 1


def test_with_postgres_stopped_commands_get_503_with_retry_after_then_work_again(daemon_env):
    cli, home = daemon_env
    cli.env["MONCLUB_CONFIG"] = str(tmp_config(home))
    cli.run("start")
    url = next(p["url"] for p in cli.status()["programs"] if p["name"] == "web").rstrip("/")
    with httpx.Client(base_url=url, timeout=30) as http:
        marie = http.post("/api/membres", json={"nom": "Marie"}).json()["id"]
        assert http.post("/api/seances", json={"id": "polar", "titre": "Soirée Polar", "places": 3}).is_success
        with rpc(configuration.load(cli.env)) as proxy:
            proxy.supervisor.stopProcess("postgres")
        for answer in (
            http.post("/api/membres", json={"nom": "Paul"}),
            http.post("/api/seances/polar/inscrire", json={"membre": marie}),
            http.get("/api/seances"),
        ):
            assert answer.status_code == 503, answer.text
            assert answer.headers["retry-after"] == "1" and answer.json()["code"] == "unavailable"
        status = wait_for(
            lambda: (s := http.get("/api/status").json()).get("cluster", {}).get("error") and s,
            10,
            "the status to say the cluster cannot be read",
            interval=0.1,
        )
        assert status["cluster"]["error"].startswith("database unreachable")
        assert next(p for p in status["programs"] if p["name"] == "postgres")["state"] == "stopped"
        with rpc(configuration.load(cli.env)) as proxy:
            proxy.supervisor.startProcess("postgres")
        registered = http.post("/api/seances/polar/inscrire", json={"membre": marie})
        assert registered.status_code == 200 and registered.json() == {"statut": "inscrit"}


def tmp_config(home):
    """A client deadline of 2 s, so that an unavailable shard is a 503 within the test's time."""
    path = home.parent / "monclub.toml"
    path.write_text("[client]\nattempt_timeout = 0.5\ndeadline = 2.0\n")
    return path
