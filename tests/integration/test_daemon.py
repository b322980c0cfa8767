"""The daemon as users meet it: `monclub start`, `status`, kill -9, `stop`, start again."""

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from monclub.postgres.embedded import FALLBACK_ROOT, STATE_DIRECTORY, Cluster
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
        fallback = Cluster.for_home(home).directory
        assert fallback.parent == FALLBACK_ROOT
        assert (fallback / STATE_DIRECTORY).read_text().strip() == str(home), "monclub clusters can find it"
        assert f"{fallback}  {home}" in cli.run("clusters").stdout
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
        "replay",
        "accueil",
        "web",
    }
    shards = cli.program("reunions")["children"]
    assert [_cmdline(s["pid"]) for s in shards] == [
        f"monclub reunions/shard-0 ({home})",
        f"monclub reunions/shard-1 ({home})",
    ], "two instances tell apart in ps by their state directory"
    compiled = os.environ.get("MONCLUB_COMPILED") == "1"
    assert [s["compiled"] for s in shards] == [compiled, compiled], "the shards run the build the tree was started on"
    spare = wait_for(lambda: cli.program("reunions")["spare"], 10, "the spare of reunions")
    wait_for(lambda: cli.program("reunions")["spare_ready"], 10, "the spare's sessions open")
    assert _cmdline(spare) == f"monclub reunions/spare ready ({home})"
    assert re.search(rf"└── spare +pid {spare} +ready to become the next restarted shard", cli.run("status").stdout)
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


def _program(tree, name: str) -> dict:
    return next(p for p in tree.status()["programs"] if p["name"] == name)


def _shard(tree, place: str) -> dict:
    branch, shard = place.split("/")
    return next(c for c in _program(tree, branch)["children"] if c["name"] == shard)


def test_status_tells_this_runs_exits_in_one_wording_and_the_remedy_of_each_part_down(start_tree):
    tree = start_tree()
    relay = tree.kill("relay")
    wait_for(lambda: _program(tree, "relay")["pid"] not in (None, relay), 30, "relay restarted")
    shard = tree.kill("reunions/shard-0")
    wait_for(lambda: _shard(tree, "reunions/shard-0")["pid"] not in (None, shard), 30, "shard-0 restarted")
    assert _program(tree, "relay")["last_exit"] == _shard(tree, "reunions/shard-0")["last_exit"] == "killed by SIGKILL"

    tree.monclub("stop")
    tree.monclub("start")
    assert [p["last_exit"] for p in tree.status()["programs"]] == [None] * 9, "an earlier run's exits are not shown"

    os.kill(_program(tree, "reunions")["pid"], signal.SIGTERM)
    wait_for(lambda: _program(tree, "reunions")["state"] == "exited", 30, "reunions exited")
    down = tree.monclub("status", check=False)
    log = tree.config.log_dir / "reunions.log"
    assert down.returncode == 1
    assert f"remedy: reunions is exited (exit 0); see {log}, then run: monclub start" in down.stdout
    line = next(line for line in down.stdout.splitlines() if "reunions " in line)
    assert "down" in line and " up " not in line and _program(tree, "reunions")["uptime"] is None

    tree.monclub("stop")
    tree.env["MONCLUB_PARTITIONS"] = "8"
    assert tree.monclub("start", check=False).returncode == 1
    assert _program(tree, "reunions")["last_exit"] == "exit 78 (configuration error)"
    down = tree.monclub("status", check=False)
    assert down.returncode == 1
    assert f"remedy: reunions: configuration error, see {log}" in down.stdout


def _hinted_command_runs(tree, started: str, cwd: Path) -> None:
    lines = started.splitlines()
    hint = lines[lines.index("Try:") + 1].strip()
    command = hint.removesuffix(" membre creer Marie")
    assert command != hint and (command != "monclub" or _on_path(tree))
    shown = subprocess.run(
        f"{command} --help", shell=True, cwd=cwd, env=tree.env, capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0 and "MonClub" in shown.stdout, f"{command!r} runs as printed in {cwd}"


def test_start_takes_json_and_hints_first_commands_that_run_only_on_an_empty_club(start_tree, tmp_path):
    tree = start_tree()
    for cwd in (tmp_path, Path.cwd()):
        tree.monclub("stop")
        started = subprocess.run(
            [sys.executable, "-m", "monclub", "start"],
            cwd=cwd,
            env=tree.env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert started.returncode == 0, started.stderr
        _hinted_command_runs(tree, started.stdout, cwd)

    tree.monclub("membre", "creer", "Marie")
    tree.monclub("stop")
    again = json.loads(tree.monclub("start", "--json").stdout)
    assert again["ok"] and not again["already_running"] and again["status"]["healthy"]
    assert json.loads(tree.monclub("start", "--json").stdout)["already_running"]
    assert json.loads(tree.monclub("stop", "--json").stdout)["was_running"]
    assert "Try:" not in tree.monclub("start").stdout, "no hint once the club has data"


def _on_path(tree) -> bool:
    return subprocess.run(["which", "monclub"], env=tree.env, capture_output=True).returncode == 0
