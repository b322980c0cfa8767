"""The drills users run: kill one process, kill supervisord, and a short chaos drill (fixed seed)
whose auditor is itself tested against a deliberately broken shard."""

import json
import re

import pytest

from monclub.tree import alive

pytestmark = pytest.mark.slow


def test_drill_kill_times_the_way_back_of_a_shard_and_of_supervisord(daemon_env):
    cli, _ = daemon_env
    cli.run("start")
    killed = cli.run("drill", "kill", "reunions/shard-1")
    assert re.match(r"reunions/shard-1: killed pid \d+, serving again after [\d.]+ ms", killed.stdout)
    before = [pid for pid in _pids(cli.status()) if pid]
    root = cli.run("drill", "kill", "supervisord")
    assert "tree started again and healthy" in root.stdout
    assert not any(alive(pid) for pid in before), "no orphan survived supervisord"
    assert cli.status()["healthy"]
    unknown = cli.run("drill", "kill", "nulle-part", check=False)
    assert unknown.returncode == 1 and unknown.stderr.startswith("error: invalid_request: target: no place")
    assert "places: supervisord, postgres, bus, relay, reunions, reunions/shard-0" in unknown.stderr
    as_json = cli.json("drill", "kill", "prets/shard-0")
    assert as_json["place"] == "prets/shard-0" and as_json["seconds"] > 0


def test_drill_chaos_prints_its_report_as_json(daemon_env):
    cli, _ = daemon_env
    cli.run("start")
    argv = ("drill", "chaos", "--duration", "3", "--kill-every", "1000", "--targets", "relay", "--clients", "1")
    report = json.loads(cli.run(*argv, "--json").stdout)
    assert report["ok"] and report["violations"] == [] and report["kills"]["relay"] >= 1


def test_a_short_chaos_drill_reports_no_violation(daemon_env, tmp_path):
    cli, _ = daemon_env
    cli.run("start")
    report_path = tmp_path / "report.json"
    drill = cli.run(
        "drill",
        "chaos",
        "--duration",
        "30",
        "--kill-every",
        "500",
        "--seed",
        "20261124",
        "--report",
        str(report_path),
        check=False,
    )
    assert drill.returncode == 0, drill.stdout + drill.stderr
    report = json.loads(report_path.read_text())
    assert report["ok"] and report["violations"] == []
    assert sum(report["kills"].values()) >= 40 and "postgres" in report["kills"]
    assert report["operations_acknowledged"] > 1000
    assert "no violation" in drill.stdout


def test_the_auditor_catches_a_shard_that_updates_memory_before_the_commit(daemon_env, tmp_path):
    cli, _ = daemon_env
    cli.env.update(MONCLUB_FAULT="stale_memory", MONCLUB_SHARDS="8")
    cli.run("start")
    report_path = tmp_path / "report.json"
    # A kill every 5 s, not faster: a restarted PostgreSQL replays its WAL first (seconds, after
    # the load's write rate), and the broken shard can only be caught while the database serves.
    drill = cli.run(
        "drill",
        "chaos",
        "--duration",
        "20",
        "--kill-every",
        "5000",
        "--targets",
        "postgres",
        "--clients",
        "4",
        "--seed",
        "7",
        "--report",
        str(report_path),
        check=False,
    )
    assert drill.returncode == 1, drill.stdout + drill.stderr
    report = json.loads(report_path.read_text())
    assert report["violations"] and not report["ok"]
    assert any("contradicted" in v for v in report["violations"])


def _pids(state: dict) -> list[int]:
    pids = [state["supervisord"]["pid"]]
    for program in state["programs"]:
        pids += [program["pid"], *(c["pid"] for c in program.get("children", []))]
    return pids
