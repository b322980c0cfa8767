"""The demonstration scripts, against the whole tree: scripts/race, raw_inscrire.py, raw_tail.py."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.fixtures.lines import Lines
from tests.fixtures.postgres import add_membres
from tests.fixtures.processes import home_shard

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def script(tree, name: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    command = [str(SCRIPTS / name), *args] if name == "race" else [sys.executable, str(SCRIPTS / name), *args]
    return subprocess.run(command, env=tree.env, capture_output=True, text=True, timeout=timeout)


def test_raw_inscrire_registers_once_then_prints_the_refusal(tree, sql):
    """On a séance that shard 0 does not host: the script finds its owner in shard 0's directory."""
    (membre,) = add_membres(sql, 1)
    seance = next(f"s{i}" for i in range(100) if home_shard(tree.config, f"s{i}") != 0)
    with tree.client() as client:
        client.creer(seance, "Soirée Polar", places=2)
        first = script(tree, "raw_inscrire.py", seance, str(membre))
        second = script(tree, "raw_inscrire.py", seance, str(membre))
        assert client.etat(seance)["inscrits"] == [membre]
    assert first.returncode == 0, first.stderr
    reply = json.loads(first.stdout)
    assert (reply["v"], reply["ok"], reply["result"]) == (1, True, {"statut": "inscrit"})
    assert second.returncode == 1, second.stderr
    assert json.loads(second.stdout)["error"]["code"] == "deja_inscrit"


def test_raw_tail_prints_the_events_of_creer_and_inscrire(tree, sql):
    (membre,) = add_membres(sql, 1)
    argv = [sys.executable, str(SCRIPTS / "raw_tail.py"), "--heartbeats", "--count", "2", "--timeout", "60"]
    with subprocess.Popen(argv, env=tree.env, stdout=subprocess.PIPE) as tail:
        try:
            lines = Lines(tail)
            while not lines.next(30).startswith("heartbeat seq="):  # subscribed: events will reach it
                pass
            with tree.client() as client:
                client.creer("manga", "Club Manga", places=1)
                client.inscrire("manga", membre)
            events = []
            while len(events) < 2:
                line = lines.next(30)
                if not line.startswith("heartbeat"):
                    events.append(line.split(" ", 3))
            assert tail.wait(timeout=10) == 0
        finally:
            tail.kill()
            tail.wait(timeout=10)
    (seq1, type1, aggregate1, payload1), (seq2, type2, aggregate2, payload2) = events
    assert (type1, aggregate1, json.loads(payload1)["places"]) == ("seance_creee", "seance/manga", 1)
    assert (type2, aggregate2, json.loads(payload2)["membre"]) == ("membre_inscrit", "seance/manga", membre)
    assert int(seq2) == int(seq1) + 1


def test_race_shows_that_monclub_never_overbooks(tree):
    done = script(tree, "race", "--threads", "10", "--rounds", "3", timeout=300)
    assert done.returncode == 0, done.stderr + done.stdout
    assert "naive:" in done.stdout
    assert "MonClub never overbooked" in done.stdout


def test_9_race_bounds_its_threads_by_the_connections_it_would_hold(database, state_dir):
    env = {**os.environ, "MONCLUB_HOME": str(state_dir), "MONCLUB_DATABASE_URL": database}
    env.pop("MONCLUB_CONFIG", None)
    done = subprocess.run(
        [str(SCRIPTS / "race"), "--threads", "200"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert "--threads must be 2 to 100" in done.stderr and "max_connections" in done.stderr
    assert "Traceback" not in done.stderr


def test_race_says_to_start_monclub_when_it_is_not_running(database, state_dir):
    env = {**os.environ, "MONCLUB_HOME": str(state_dir), "MONCLUB_DATABASE_URL": database, "MONCLUB_SHARDS": "2"}
    env.pop("MONCLUB_CONFIG", None)
    done = subprocess.run([str(SCRIPTS / "race")], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "not running" in done.stderr and "scripts/start" in done.stderr
