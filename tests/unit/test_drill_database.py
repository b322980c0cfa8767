"""The pure parts of `monclub drill database`: the seeded order of the faults, the demo refused
when there is none, the kinds checked, and the report's figures and lines against the issue's
targets; an interrupted drill's injector giving the host back."""

import os
import signal
import subprocess
from itertools import islice
from pathlib import Path
from types import SimpleNamespace

import pytest

from monclub.cli.drill import database_kinds
from monclub.drills import database
from monclub.drills.load import Outcomes
from monclub.drills.primary_faults import Demo, Fault, PrimaryFaults, order
from monclub.errors import ConfigError, InvalidRequest
from monclub.postgres.ha import host
from tests.fixtures.waiting import wait_for


def test_every_round_of_faults_has_each_kind_once_in_an_order_the_seed_decides():
    kinds = ("postgres", "kill", "freeze")
    first = list(islice(order(7, kinds), 30))
    assert first == list(islice(order(7, kinds), 30)), "the same seed, the same schedule"
    assert all(sorted(first[i : i + 3]) == sorted(kinds) for i in range(0, 30, 3))
    assert {tuple(islice(order(seed, kinds), 3)) for seed in range(20)} != {tuple(first[:3])}, "seeds differ"
    assert all(sorted(islice(order(seed, ("postgres", "kill")), 2)) == ["kill", "postgres"] for seed in range(20))


def test_the_drill_refuses_without_patroni_or_without_a_running_demo(tmp_path):
    with pytest.raises(ConfigError, match="no patroni_urls"):
        database.demo(SimpleNamespace(patroni_urls=()), tmp_path)
    with pytest.raises(ConfigError, match=f"no demo running in {tmp_path}.*--demo"):
        database.demo(SimpleNamespace(patroni_urls=("http://127.0.0.1:15402",)), tmp_path)
    host.write_pid(tmp_path)
    found = database.demo(SimpleNamespace(patroni_urls=("http://127.0.0.1:15402",)), tmp_path)
    assert (found.directory, found.urls) == (tmp_path, ["http://127.0.0.1:15402"])


def test_the_kinds_are_checked_and_a_cut_says_it_needs_network_namespaces():
    assert database_kinds("postgres, freeze") == ("postgres", "freeze")
    with pytest.raises(InvalidRequest, match="cut needs network namespaces"):
        database_kinds("postgres,cut")
    with pytest.raises(InvalidRequest, match="choose among postgres, kill, freeze"):
        database_kinds("reboot")


def _row(kind: str, commit: float | None, primary: float | None = None, failed: int = 0) -> dict:
    primary = commit - 0.3 if primary is None and commit is not None else primary
    return {
        "kind": kind,
        "member": "pg0",
        "at": 20.0,
        "primary_seconds": primary,
        "commit_seconds": commit,
        "failed": failed,
    }


def test_the_figures_give_each_groups_median_and_max_beside_the_targets():
    found = database.figures([_row("postgres", 3.0), _row("kill", 22.0), _row("freeze", 31.0), _row("postgres", 5.0)])
    assert found["postgres"] == {"count": 2, "median": 4.0, "max": 5.0, "target_median": 10.0, "target_max": None}
    assert found["host"] == {"count": 2, "median": 26.5, "max": 31.0, "target_median": 25.0, "target_max": 30.0}
    assert database.figures([_row("postgres", None, 2.0)])["postgres"]["count"] == 0


def _report(rows: list[dict], violations: list[str]) -> dict:
    phase = {"name": "audit", "seconds": 0.4, "deadline_seconds": 30, "completed": True, "missed": None}
    return {
        "seed": 3,
        "demo": "/tmp/demo",
        "duration": 60.0,
        "fault_every": 20.0,
        "clients": 2,
        "kinds": ["postgres", "kill"],
        "phases": [phase],
        "operations_acknowledged": 812,
        "retries": 9,
        "outcomes": {"inscrit": 500, "timeout": 1},
        "faults": rows,
        "commit_seconds": database.figures(rows),
        "violations": violations,
        "ok": not violations,
    }


def test_the_report_lines_give_each_faults_figures_and_the_targets_met_or_missed():
    rows = [_row("postgres", 3.42, 3.1), _row("kill", 31.5, 22.0, failed=1)]
    lines = database.report_lines(_report(rows, []))
    assert lines[0] == (
        "database drill: seed 3, demo /tmp/demo, 60s, a fault every 20s at the earliest (postgres, kill), 2 clients"
    )
    assert "    20.0s postgres pg0: another primary 3.10 s, next commit 3.42 s, 0 request(s) failed" in lines
    assert "    20.0s kill     pg0: another primary 22.00 s, next commit 31.50 s, 1 request(s) failed" in lines
    assert "  postgres alone: median 3.42 s, max 3.42 s over 1 (target median ≤ 10 s): met" in lines
    assert (
        "  whole host (kill, freeze): median 31.50 s, max 31.50 s over 1 (target median ≤ 25 s, max ≤ 30 s): MISSED"
        in lines
    )
    assert lines[-1].startswith("audit: nothing acknowledged lost")


def test_a_fault_never_answered_reads_never_and_violations_end_the_report():
    rows = [_row("freeze", None, None)]
    lines = database.report_lines(_report(rows, ["freeze of pg0: no other primary within 60s"]))
    assert "    20.0s freeze   pg0: another primary never, next commit never, 0 request(s) failed" in lines
    assert "  whole host (kill, freeze): no fault (target median ≤ 25 s, max ≤ 30 s)" in lines
    assert lines[-1] == "VIOLATION: freeze of pg0: no other primary within 60s"


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_a_closed_injector_thaws_the_host_it_froze_and_faults_nothing_more(tmp_path):
    """What an interrupted drill does on its way out: its process may linger while the load's
    threads end, and must neither leave the demo's host frozen nor fault another."""
    host_process = subprocess.Popen(["sleep", "60"])
    try:
        faults = PrimaryFaults(Demo(tmp_path, []), Outcomes(), every=1.0, seed=1, kinds=("freeze",))
        faults._target = lambda kind: ("http://127.0.0.1:1", "pg0", [host_process.pid])
        os.kill(host_process.pid, signal.SIGSTOP)
        faults.held = (Fault("freeze", "pg0", 0.0), [host_process.pid])
        wait_for(lambda: _state(host_process.pid) == "T", 5, "the host frozen")
        faults.close()
        wait_for(lambda: _state(host_process.pid) != "T", 5, "the host thawed")
        faults.inject("freeze")
        assert faults.faults == [] and faults.held is None and _state(host_process.pid) != "T"
    finally:
        host_process.kill()
        host_process.wait()
