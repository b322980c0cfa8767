"""The daemon as users meet it: `monclub start`, `status`, kill -9, `stop`, start again."""

import os
import signal
from pathlib import Path

import pytest

from monclub.postgres.cluster import FALLBACK_ROOT, Cluster
from tests.fixtures.postgres import as_owner
from tests.fixtures.waiting import wait_for

pytestmark = pytest.mark.slow


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()


def test_start_status_kill_stop_and_start_again(daemon_env):
    cli, home = daemon_env
    assert cli.run("status", check=False).returncode == 1
    started = cli.run("start")
    assert "reunions" in started.stdout and "shard-1" in started.stdout
    if os.geteuid() == 0:
        assert Cluster.for_home(home).directory.parent == FALLBACK_ROOT
    status = cli.status()
    assert status["healthy"]
    assert {p["name"] for p in status["programs"]} == {
        "postgres",
        "bus",
        "relay",
        "reunions",
        "prets",
        "paiements",
        "notifications",
    }
    shards = cli.program("reunions")["children"]
    assert [_cmdline(s["pid"]) for s in shards] == ["monclub reunions/shard-0", "monclub reunions/shard-1"]
    assert cli.run("start").returncode == 0, "a second start is harmless"

    membre = cli.json("membre", "creer", "Marie")["id"]
    cli.run("seance", "creer", "Soirée Polar", "--places", "1", "--id", "polar")
    assert cli.json("inscrire", "polar", str(membre)) == {"statut": "inscrit"}
    refused = cli.run("inscrire", "polar", str(membre), check=False)
    assert refused.returncode == 1 and refused.stderr.startswith("error: deja_inscrit: ")

    reunions = cli.program("reunions")["pid"]
    os.kill(reunions, signal.SIGKILL)
    wait_for(lambda: cli.status()["healthy"] and cli.program("reunions")["pid"] != reunions, 30, "reunions back")
    assert cli.program("reunions")["restarts"] == 1

    pids = [cli.status()["supervisord"]["pid"], *(p["pid"] for p in cli.status()["programs"])]
    cli.run("stop")
    wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in pids), 30, "every process to exit")
    assert cli.run("status", check=False).returncode == 1

    cli.run("start")
    assert cli.json("seance", "voir", "polar")["inscrits"] == [membre]


def test_with_an_external_database_no_postgres_is_started(daemon_env, database):
    cli, home = daemon_env
    cli.env["MONCLUB_DATABASE_URL"] = database
    cli.env["MONCLUB_OWNER_DATABASE_URL"] = as_owner(database)
    cli.run("start")
    status = cli.status()
    assert status["healthy"] and "postgres" not in {p["name"] for p in status["programs"]}
    assert not (home / "postgres").exists() and not Cluster.for_home(home).directory.exists()
    cli.run("seance", "creer", "Club Manga", "--places", "3", "--id", "manga")
    assert cli.json("seance", "liste")[0]["id"] == "manga"
