"""The chaos drill: load on the tree while random processes of it are killed with SIGKILL, then
quiescence and an audit. The fault schedule comes from the seed, so a failing run can be replayed.

Three phases, each with a deadline, so that the drill always ends with its report: load+faults
(the run, then at most DRAIN_SECONDS for the calls in flight), quiescence (the tree running and the
listeners caught up, at most `Plan.settle` seconds) and the audit (at most AUDIT_SECONDS for the
database to answer it). A phase whose deadline passes is reported with what was missing, as a
violation, and the next one runs. DRAIN_SECONDS and AUDIT_SECONDS never exceed `Plan.settle`.
"""

import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Protocol

import psycopg

from monclub.config import Config
from monclub.db import connect
from monclub.drills import audit, settle
from monclub.drills.faults import Faults, Kill
from monclub.drills.load import Load, Outcomes
from monclub.errors import ConfigError
from monclub.tree import supervisord as tree

DRAIN_SECONDS = 15.0
AUDIT_SECONDS = 30.0
PHASES = ("load+faults", "quiescence", "audit")


@dataclass
class Plan:
    duration: float
    kill_every: float
    seed: int
    clients: int = 8
    targets: tuple[str, ...] = ()
    settle: float = 60.0

    @property
    def drain(self) -> float:
        return min(DRAIN_SECONDS, self.settle)

    @property
    def audit(self) -> float:
        return min(AUDIT_SECONDS, self.settle)


class Progress(Protocol):
    def phase(self, name: str, deadline: float, what: str) -> None:
        """A phase starts; `deadline` is in seconds from now."""

    def load(self, elapsed: float, acknowledged: int, kills: int) -> None: ...

    def waiting(self, elapsed: float, deadline: float, what: str) -> None:
        """Still waiting in the current phase, for `what`."""


@dataclass
class Phase:
    name: str
    deadline: float
    seconds: float = 0.0
    missed: str | None = None

    def report(self) -> dict:
        return {
            "name": self.name,
            "deadline_seconds": self.deadline,
            "seconds": round(self.seconds, 2),
            "completed": self.missed is None,
            "missed": self.missed,
        }


class Injector(Protocol):
    """What injects the faults of a drill: a loop until `stop`, and how many of each so far."""

    @property
    def per_target(self) -> Counter: ...

    def loop(self, stop: threading.Event) -> None: ...


def load_and_faults(
    load: Load, faults: Injector, plan: Plan, progress: Progress, started: float, carry: float = 0.0
) -> Phase:
    """The load for `plan.duration`, faults injected meanwhile; the load goes on after it while
    the injector ends the fault in progress (at most `carry` seconds: a database failover is
    timed to the next commit, which needs the load), then the calls in flight."""
    phase = Phase(PHASES[0], plan.duration + carry + plan.drain)
    progress.phase(phase.name, phase.deadline, f"{plan.duration:.0f}s of load and faults, then the calls in flight")
    stop = threading.Event()
    killer = threading.Thread(target=faults.loop, args=(stop,), daemon=True)
    load.start(ends_at=started + phase.deadline)
    killer.start()
    while (elapsed := time.monotonic() - started) < plan.duration:
        progress.load(elapsed, load.outcomes.acknowledged, sum(faults.per_target.values()))
        time.sleep(0.2)
    progress.load(plan.duration, load.outcomes.acknowledged, sum(faults.per_target.values()))
    stop.set()
    killer.join()
    progress.waiting(plan.duration, phase.deadline, "the clients' calls in flight")
    still_running = load.finish()
    phase.seconds = time.monotonic() - started
    if still_running:
        phase.missed = f"{still_running} client(s) still waiting for a reply: their last outcome is not audited"
    return phase


def quiescence(config: Config, plan: Plan, progress: Progress) -> Phase:
    phase = Phase(PHASES[1], plan.settle)
    progress.phase(phase.name, phase.deadline, "the whole tree running, every listener caught up")
    phase.seconds, phase.missed = settle.wait(
        config, phase.deadline, lambda elapsed, what: progress.waiting(elapsed, phase.deadline, what)
    )
    return phase


def audit_phase(config: Config, load: Load, plan: Plan, progress: Progress) -> tuple[Phase, list[str]]:
    """The audit's violations, on a connection tried until the deadline (the database may still be
    recovering); its queries are bounded by the same deadline."""
    phase = Phase(PHASES[2], plan.audit)
    progress.phase(phase.name, phase.deadline, "the database against what the clients were told")
    started = time.monotonic()
    timeout = f"-c statement_timeout={int(phase.deadline * 1000)}"
    while True:
        try:
            with connect(config.conninfo(), autocommit=True, options=timeout) as conn:
                found = audit.violations(conn) + load.contradictions(conn) + load.loan_contradictions(conn)
            phase.seconds = time.monotonic() - started
            return phase, found
        except psycopg.OperationalError as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            phase.seconds = time.monotonic() - started
            if phase.seconds > phase.deadline:
                phase.missed = f"the database did not answer the audit within {phase.deadline:.0f}s ({reason})"
                return phase, []
            if gone := settle.given_up(config, "postgres"):
                phase.missed = f"the database does not answer: {gone}, given up by supervisord ({reason})"
                return phase, []
            progress.waiting(phase.seconds, phase.deadline, f"the database ({reason})")
            time.sleep(0.5)


def summary(values: list[float], unit: float = 1.0, digits: int = 3) -> dict:
    """count, median and max of `values` (seconds) in `unit`s."""
    return {
        "count": len(values),
        "median": round(statistics.median(values) / unit, digits) if values else None,
        "max": round(max(values) / unit, digits) if values else None,
    }


def postgres_kills(kills: list[Kill], outcomes: Outcomes, started: float) -> dict:
    """Per PostgreSQL kill: when (seconds into the run), when a new server answered a new
    connection, and when the service was back: the first operation acknowledged after that (its
    shard reconnected, its client retried). None, with why, when it was not back before the next
    kill or the end of the load."""
    rows, served = [], []
    for index, kill in enumerate(kills):
        later = kills[index + 1] if index + 1 < len(kills) else None
        back = None if kill.back is None else outcomes.first_answer_after(kill.at + kill.back)
        if back is not None and later is not None and back > later.at:
            back = None
        served += [] if back is None else [back - kill.at]
        rows.append(
            {
                "at": round(kill.at - started, 2),
                "database_seconds": None if kill.back is None else round(kill.back, 3),
                "serving_seconds": None if back is None else round(back - kill.at, 3),
                "not_serving": None if back is not None else _why_not_serving(kill, later),
            }
        )
    return {"kills": rows, "serving_seconds": summary(served)}


def _why_not_serving(kill: Kill, later: Kill | None) -> str:
    if kill.killed_again:
        return "killed again (database not back)"
    if later is not None:
        return "killed again (no operation served yet)"
    return "no operation served before the load ended" if kill.back is not None else "database never back"


def require_healthy(config: Config) -> None:
    """A drill loads the running tree: refuse to start on a tree stopped or unhealthy."""
    if not tree.status(config)["healthy"]:
        raise ConfigError("MonClub is not running or not healthy: start it (monclub start) and check monclub status")


def run(config: Config, plan: Plan, progress: Progress) -> dict:
    """Run the drill; the report (see `report_lines`). Always returns, whatever the tree does."""
    require_healthy(config)
    load = Load(config, plan.clients, plan.seed)
    faults = Faults(config, plan.kill_every, plan.seed, plan.targets)
    load.prepare()
    started = time.monotonic()
    phases = [load_and_faults(load, faults, plan, progress, started), quiescence(config, plan, progress)]
    unrecovered = faults.stop_watching()
    audited, violations = audit_phase(config, load, plan, progress)
    phases.append(audited)
    violations += [f"{place} never served again after its last kill" for place in unrecovered]
    violations += [f"{phase.name}: {phase.missed}" for phase in phases if phase.missed]
    recoveries = [kill.back for kill in faults.kills if kill.back is not None]
    return {
        "seed": plan.seed,
        "duration": plan.duration,
        "kill_every": plan.kill_every,
        "clients": plan.clients,
        "targets": list(plan.targets),
        "settle": plan.settle,
        "namespace": load.prefix,
        "left_in_instance": load.left_behind(),
        "phases": [phase.report() for phase in phases],
        "operations_acknowledged": load.outcomes.acknowledged,
        "retries": load.outcomes.retries,
        "outcomes": dict(load.outcomes.counts),
        "kills": dict(faults.per_target),
        "killed_again_before_back": sum(kill.killed_again for kill in faults.kills),
        "recovery_ms": summary(recoveries, unit=0.001, digits=1),
        "postgres": postgres_kills(faults.of("postgres"), load.outcomes, started),
        "quiescence_seconds": round(phases[1].seconds, 2),
        "violations": violations,
        "ok": not violations,
    }


def phase_line(phase: dict) -> str:
    verdict = "done" if phase["completed"] else f"INCOMPLETE: {phase['missed']}"
    return f"  {phase['name']}: {phase['seconds']:.1f}s (deadline {phase['deadline_seconds']:.0f}s) {verdict}"


def _postgres_lines(postgres: dict) -> list[str]:
    if not postgres["kills"]:
        return []
    cells = [
        row["not_serving"] if row["serving_seconds"] is None else f"{row['serving_seconds']:.2f}"
        for row in postgres["kills"]
    ]
    times = ", ".join(cell if count == 1 else f"{cell} ×{count}" for cell, count in _runs(cells))
    summary = postgres["serving_seconds"]
    overall = f"median {summary['median']} s, max {summary['max']} s" if summary["count"] else "never"
    return [f"PostgreSQL kills, time to serve again (s): {times}; {overall}"]


def _runs(cells: list[str]) -> list[tuple[str, int]]:
    """Consecutive equal cells counted once: a hundred kills of a server that was not back yet
    read as one entry."""
    runs: list[tuple[str, int]] = []
    for cell in cells:
        if runs and runs[-1][0] == cell:
            runs[-1] = (cell, runs[-1][1] + 1)
        else:
            runs.append((cell, 1))
    return runs


def _left_line(report: dict) -> str:
    left = report["left_in_instance"]
    return (
        f"left in this instance, namespace {report['namespace']}: {left['seances']} séances, {left['livres']} livres,"
        f" {left['membres']} membres (ids {report['namespace']}-*; see README, drills)"
    )


def report_lines(report: dict) -> list[str]:
    outcomes = ", ".join(f"{code} {n}" for code, n in sorted(report["outcomes"].items()))
    kills = ", ".join(f"{place} {n}" for place, n in sorted(report["kills"].items())) or "none"
    recovery = report["recovery_ms"]
    lines = [
        f"chaos drill: seed {report['seed']}, {report['duration']:.0f}s,"
        f" a kill every {report['kill_every'] * 1000:.0f}ms, {report['clients']} clients",
        "phases:",
        *[phase_line(phase) for phase in report["phases"]],
        f"operations acknowledged: {report['operations_acknowledged']}   retries: {report['retries']}",
        f"outcomes: {outcomes}",
        f"kills: {kills} ({report['killed_again_before_back']} killed again before they were back)",
        f"time to recover: median {recovery['median']} ms, max {recovery['max']} ms over {recovery['count']} kills",
        *_postgres_lines(report["postgres"]),
        f"quiescence after {report['quiescence_seconds']}s",
        _left_line(report),
    ]
    if report["violations"]:
        lines += [f"VIOLATION: {v}" for v in report["violations"]]
    else:
        lines.append(
            "audit: no séance over capacity, every acknowledged outcome in the database, "
            "one live payment per registration, every notification once: no violation"
        )
    return lines
