"""Commands while MonClub is stopped or a shard or the accueil is silent: fail at once when nothing
listens and nothing will start it again; a silent process is retried with one request id until the
deadline, and the message never asks the user to resend a request id."""

import os
import socket
import subprocess
import sys
import time

import pytest
import zmq

from monclub import config as configuration
from monclub.supervision.rpc import rpc
from monclub.wire import codec as wire
from tests.fixtures.processes import home_shard

ATTEMPT_TIMEOUT = 10.0
COMMANDS = {
    "inscrire": ["inscrire", "polar", "1"],
    "desinscrire": ["desinscrire", "polar", "1"],
    "seance voir": ["seance", "voir", "polar"],
    "seance creer": ["seance", "creer", "Polar", "--places", "2", "--id", "polar"],
    "seance places": ["seance", "places", "polar", "3"],
    "livre ajouter": ["livre", "ajouter", "Dune", "--id", "dune"],
    "pret emprunter": ["pret", "emprunter", "dune", "1"],
    "pret voir": ["pret", "voir", "dune"],
    "membre creer": ["membre", "creer", "Marie"],
    "paiement regler": ["paiement", "regler", "1"],
}


def cli_env(home, tmp_path, client: str) -> dict:
    config = tmp_path / "monclub.toml"
    config.write_text(f"[client]\n{client}\n")
    return {**os.environ, "MONCLUB_HOME": str(home), "MONCLUB_CONFIG": str(config), "MONCLUB_SHARDS": "2"}


def monclub(env: dict, *args: str) -> tuple[subprocess.CompletedProcess, float]:
    """The CLI's result and how long it took; a hard deadline of 60 s."""
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "monclub", *args], env=env, capture_output=True, text=True, timeout=60)
    return done, time.monotonic() - began


def stale_sockets(config: configuration.Config) -> None:
    """What a tree killed with SIGKILL leaves: socket files nobody listens on any more."""
    config.prepare_dirs()
    paths = [config.run_dir / "supervisord.sock", config.service_endpoint("accueil").removeprefix("ipc://")]
    for branch, count in (("reunions", config.shards), ("prets", config.pret_shards)):
        paths += [config.endpoint(branch).removeprefix("ipc://")]
        paths += [config.endpoint(branch, index).removeprefix("ipc://") for index in range(count)]
    for path in paths:
        with socket.socket(socket.AF_UNIX) as listener:
            listener.bind(str(path))


@pytest.mark.parametrize("leftovers", ["never started", "stale sockets"])
@pytest.mark.parametrize("argv", COMMANDS.values(), ids=COMMANDS.keys())
def test_a_command_fails_at_once_when_monclub_is_stopped(state_dir, tmp_path, argv, leftovers):
    env = cli_env(state_dir, tmp_path, f"attempt_timeout = {ATTEMPT_TIMEOUT}\ndeadline = 30")
    if leftovers == "stale sockets":
        stale_sockets(configuration.load(env))
    done, took = monclub(env, *argv)
    assert took < ATTEMPT_TIMEOUT / 2, f"took {took:.1f}s: it waited for a reply"
    assert done.returncode == 1
    assert done.stderr.startswith("error: unavailable: MonClub is not running"), done.stderr
    assert done.stderr.rstrip().endswith("try: monclub start") and done.stderr.count("\n") == 1


@pytest.fixture
def silent_shards(state_dir):
    """Every shard endpoint bound by a ROUTER socket that never answers: a hung tree."""
    config = configuration.load({**os.environ, "MONCLUB_HOME": str(state_dir), "MONCLUB_SHARDS": "2"})
    config.prepare_dirs()
    sockets = {}
    for branch, count in (("reunions", config.shards), ("prets", config.pret_shards)):
        for index in range(count):
            router = zmq.Context.instance().socket(zmq.ROUTER)
            router.linger = 0
            router.bind(config.endpoint(branch, index))
            sockets[(branch, index)] = router
    yield config, sockets
    for router in sockets.values():
        router.close(linger=0)


def received(router: zmq.Socket) -> list[dict]:
    requests = []
    while router.poll(0):
        requests.append(wire.decode(router.recv_multipart()[-1]))
    return requests


def test_a_silent_shard_gets_one_request_id_until_the_deadline_and_no_advice_to_resend(silent_shards, tmp_path):
    config, sockets = silent_shards
    env = cli_env(config.home, tmp_path, "attempt_timeout = 0.3\ndeadline = 2")
    owner = sockets[("reunions", home_shard(config, "polar"))]

    read, took = monclub(env, "seance", "voir", "polar")
    assert read.returncode == 1 and 1.5 < took < 10
    assert read.stderr.startswith("error: timeout: no answer from reunions/partition-"), read.stderr
    assert "request id" not in read.stderr and "send" not in read.stderr
    received(owner)

    write, _ = monclub(env, "inscrire", "polar", "1")
    attempts = received(owner)
    assert len(attempts) >= 2 and len({a["id"] for a in attempts}) == 1, "retried by the CLI, with one request id"
    assert write.returncode == 1 and write.stderr.startswith("error: timeout: "), write.stderr
    assert "is unknown; `monclub seance voir polar` shows it" in write.stderr
    assert "request id" not in write.stderr and "send" not in write.stderr


@pytest.mark.parametrize(
    ("argv", "shows"),
    [(["membre", "creer", "Marie"], "monclub membre liste"), (["paiement", "regler", "7"], "monclub paiements")],
    ids=["membre creer", "paiement regler"],
)
def test_a_silent_accueil_gets_one_request_id_until_the_deadline(state_dir, tmp_path, argv, shows):
    """The accueil's commands are retried like the shards' (Lazy Pirate, one request id)."""
    env = cli_env(state_dir, tmp_path, "attempt_timeout = 0.3\ndeadline = 2")
    config = configuration.load(env)
    config.prepare_dirs()
    with zmq.Context.instance().socket(zmq.ROUTER) as accueil:
        accueil.linger = 0
        accueil.bind(config.service_endpoint("accueil"))
        done, took = monclub(env, *argv)
        attempts = received(accueil)
    assert len(attempts) >= 2 and len({a["id"] for a in attempts}) == 1, "retried by the CLI, with one request id"
    assert done.returncode == 1 and 1.5 < took < 10
    assert done.stderr.startswith("error: timeout: no answer from accueil"), done.stderr
    assert f"is unknown; `{shows}` shows it" in done.stderr
    assert "request id" not in done.stderr and "send" not in done.stderr


@pytest.mark.slow
def test_a_branch_stopped_under_a_running_supervisord_is_named_at_once(tree, tmp_path):
    config = tmp_path / "client.toml"
    config.write_text(f"[client]\nattempt_timeout = {ATTEMPT_TIMEOUT}\ndeadline = 30\n")
    env = {**tree.env, "MONCLUB_CONFIG": str(config)}
    tree.wait_healthy()
    with rpc(tree.config) as proxy:
        assert proxy.supervisor.stopProcess("reunions")
    done, took = monclub(env, "seance", "voir", "polar")
    assert took < ATTEMPT_TIMEOUT / 2, f"took {took:.1f}s: it waited for a reply"
    assert done.returncode == 1
    assert done.stderr.startswith("error: unavailable: the reunions branch is stopped"), done.stderr
    assert done.stderr.rstrip().endswith("see monclub status")
    livre, _ = monclub(env, "pret", "voir", "dune")
    assert livre.returncode == 1 and "livre_inconnu" in livre.stderr, "the other branch still serves"
