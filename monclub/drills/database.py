"""The database drill (`monclub drill database`): the running tree (`monclub start`) on the
three-server demo of this machine (scripts/ha-demo), its load the chaos drill's, and on a seeded
schedule a fault of the database's primary: kill -9 of its postgres alone, of every process of
its host (then started again by the demo, asked through SIGUSR1), or SIGSTOP of them all (then
SIGCONT), each timed (monclub/drills/primary_faults.py). Then the chaos drill's quiescence and
audit: nothing acknowledged lost, nothing applied twice, no commit under a stale epoch. Cutting
the host off the network needs network namespaces: tests/integration/test_database_faults.py
does it, not this drill.

The drill needs the demo's processes: a member's host is every process working under its home
in the demo's directory (monclub/postgres/ha/host.py), and the demo's pid is in its demo.pid.
That directory is `--demo`, else the loaded configuration file's (the demo writes its
monclub.toml there) when it holds demo.pid, else the demo's default directory."""

import time
from pathlib import Path

from monclub import config as configuration
from monclub.config import Config
from monclub.drills import chaos
from monclub.drills.load import Load
from monclub.drills.primary_faults import CARRY_SECONDS, Demo, PrimaryFaults
from monclub.errors import ConfigError
from monclub.postgres.ha import host
from monclub.postgres.ha.__main__ import default_directory

# The targets, from the fault to the next commit: (median, max) in seconds.
TARGETS = {"postgres": (10.0, None), "host": (25.0, 30.0)}
GROUPS = {"postgres": ("postgres",), "host": ("kill", "freeze")}
GROUP_NAMES = {"postgres": "postgres alone", "host": "whole host (kill, freeze)"}


def demo_directory(given: Path | None) -> Path:
    if given is not None:
        return given.absolute()
    beside = configuration.file_path().parent
    return beside if (beside / host.PID_FILE).exists() else default_directory()


def demo(config: Config, given: Path | None) -> Demo:
    """The demo to fault; ConfigError saying what to do when there is none."""
    if not config.patroni_urls:
        raise ConfigError(
            "no patroni_urls in the configuration: run MonClub on the demo (scripts/ha-demo prints "
            "MONCLUB_CONFIG=<demo>/monclub.toml; monclub stop, then start MonClub with it)"
        )
    directory = demo_directory(given)
    if host.demo_pid(directory) is None:
        raise ConfigError(
            f"no demo running in {directory} (no live pid in its {host.PID_FILE}): start it "
            "(scripts/ha-demo), or name its directory with --demo"
        )
    return Demo(directory, list(config.patroni_urls))


def run(config: Config, plan: chaos.Plan, kinds: tuple[str, ...], target: Demo, progress: chaos.Progress) -> dict:
    """Run the drill; the report (see `report_lines`)."""
    chaos.require_healthy(config)
    load = Load(config, plan.clients, plan.seed)
    faults = PrimaryFaults(target, load.outcomes, plan.kill_every, plan.seed, kinds)
    load.prepare()
    started = time.monotonic()
    try:
        phases = [chaos.load_and_faults(load, faults, plan, progress, started, CARRY_SECONDS)]
    finally:
        faults.close()  # also when interrupted (Ctrl-C): never leave the demo's host frozen or dead
    phases.append(chaos.quiescence(config, plan, progress))
    audit, found = chaos.audit_phase(config, load, plan, progress)
    phases.append(audit)
    missed = [missing for fault in faults.faults if (missing := fault.missed())]
    violations = missed + faults.problems + [f"{p.name}: {p.missed}" for p in phases if p.missed] + found
    rows = [fault.row(started) for fault in faults.faults]
    return {
        "seed": plan.seed,
        "demo": str(target.directory),
        "duration": plan.duration,
        "fault_every": plan.kill_every,
        "clients": plan.clients,
        "kinds": list(kinds),
        "phases": [phase.report() for phase in phases],
        "operations_acknowledged": load.outcomes.acknowledged,
        "retries": load.outcomes.retries,
        "outcomes": dict(load.outcomes.counts),
        "faults": rows,
        "commit_seconds": figures(rows),
        "violations": violations,
        "ok": not violations,
    }


def figures(rows: list[dict]) -> dict:
    """Per group (postgres alone, whole host): the fault to the next commit's count, median and
    max, and the issue's targets for them."""
    found = {}
    for group, kinds in GROUPS.items():
        seconds = [row["commit_seconds"] for row in rows if row["kind"] in kinds and row["commit_seconds"] is not None]
        median, most = TARGETS[group]
        found[group] = {**chaos.summary(seconds, digits=2), "target_median": median, "target_max": most}
    return found


def _fault_line(row: dict) -> str:
    def seconds(value: float | None) -> str:
        return "never" if value is None else f"{value:.2f} s"

    return (
        f"  {row['at']:6.1f}s {row['kind']:<8} {row['member']}: another primary {seconds(row['primary_seconds'])},"
        f" next commit {seconds(row['commit_seconds'])}, {row['failed']} request(s) failed"
    )


def _figure_line(group: str, figure: dict) -> str:
    target = f"median ≤ {figure['target_median']:.0f} s" + (
        f", max ≤ {figure['target_max']:.0f} s" if figure["target_max"] is not None else ""
    )
    if not figure["count"]:
        return f"  {GROUP_NAMES[group]}: no fault (target {target})"
    met = figure["median"] <= figure["target_median"] and (
        figure["target_max"] is None or figure["max"] <= figure["target_max"]
    )
    return (
        f"  {GROUP_NAMES[group]}: median {figure['median']:.2f} s, max {figure['max']:.2f} s over"
        f" {figure['count']} (target {target}): {'met' if met else 'MISSED'}"
    )


def report_lines(report: dict) -> list[str]:
    outcomes = ", ".join(f"{code} {n}" for code, n in sorted(report["outcomes"].items()))
    lines = [
        f"database drill: seed {report['seed']}, demo {report['demo']}, {report['duration']:.0f}s,"
        f" a fault every {report['fault_every']:.0f}s at the earliest ({', '.join(report['kinds'])}),"
        f" {report['clients']} clients",
        "phases:",
        *[chaos.phase_line(phase) for phase in report["phases"]],
        f"operations acknowledged: {report['operations_acknowledged']}   retries: {report['retries']}",
        f"outcomes: {outcomes}",
        f"faults of the primary (seconds into the run): {len(report['faults']) or 'none'}",
        *[_fault_line(row) for row in report["faults"]],
        "from the fault to the next commit, against the issue's targets:",
        *[_figure_line(group, figure) for group, figure in report["commit_seconds"].items()],
    ]
    if report["violations"]:
        return lines + [f"VIOLATION: {v}" for v in report["violations"]]
    return lines + ["audit: nothing acknowledged lost, nothing applied twice, no commit under a stale epoch"]
