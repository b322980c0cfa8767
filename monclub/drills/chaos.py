"""The chaos drill: load on the tree while random processes of it are killed with SIGKILL, then
quiescence and an audit. The fault schedule comes from the seed, so a failing run can be replayed.
"""

import os
import random
import signal
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from monclub import tree
from monclub.config import Config
from monclub.db import audit, connect, reads
from monclub.drills.load import Load
from monclub.drills.recovery import running_places, serving
from monclub.errors import ConfigError

QUIESCENCE_TIMEOUT = 180.0
STALL_SECONDS = 10.0


@dataclass
class Plan:
    duration: float
    kill_every: float
    seed: int
    clients: int = 8
    targets: tuple[str, ...] = ()


@dataclass
class Kills:
    per_target: Counter = field(default_factory=Counter)
    recoveries: list[float] = field(default_factory=list)
    unrecovered: list[str] = field(default_factory=list)
    watchers: list[threading.Thread] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def watch(self, config: Config, place: str, pid: int, killed_at: float) -> None:
        """Time, in a thread of its own, how long `place` takes to serve again."""

        def measure():
            while time.monotonic() - killed_at < QUIESCENCE_TIMEOUT:
                if serving(config, place, {pid}):
                    with self.lock:
                        self.recoveries.append(time.monotonic() - killed_at)
                    return
                time.sleep(0.01)
            with self.lock:
                self.unrecovered.append(place)

        thread = threading.Thread(target=measure, daemon=True)
        thread.start()
        self.watchers.append(thread)


def _candidates(config: Config, targets: tuple[str, ...]) -> dict[str, int]:
    places = {p: pid for p, pid in running_places(config).items() if p != "supervisord"}
    if targets:
        places = {p: pid for p, pid in places.items() if any(p == t or p.startswith(t + "/") for t in targets)}
    return places


def _kill_loop(config: Config, plan: Plan, kills: Kills, stop: threading.Event) -> None:
    rng = random.Random(plan.seed)
    while not stop.wait(plan.kill_every):
        places = _candidates(config, plan.targets)
        if not places:
            continue
        place = rng.choice(sorted(places))
        try:
            os.kill(places[place], signal.SIGKILL)
        except ProcessLookupError:
            continue
        kills.per_target[place] += 1
        kills.watch(config, place, places[place], time.monotonic())


def _wait_quiet(config: Config) -> tuple[float, str | None]:
    """Seconds until the tree is healthy and every listener has caught up with the outbox, or
    the reason it did not settle: a timeout, or listeners that stopped moving (a listener stuck on
    an event it cannot apply) for STALL_SECONDS."""
    started = moved = time.monotonic()
    seen = None
    while (now := time.monotonic()) - started < QUIESCENCE_TIMEOUT:
        if tree.status(config)["healthy"]:
            with connect(config.conninfo(), autocommit=True) as conn:
                if reads.caught_up(conn):
                    return now - started, None
                positions = reads.listener_positions(conn)
            if positions != seen:
                seen, moved = positions, now
            elif now - moved > STALL_SECONDS:
                return now - started, (
                    f"listeners stopped behind the outbox for {STALL_SECONDS:.0f}s"
                    f" (positions {positions}); see {config.log_dir}"
                )
        time.sleep(0.2)
    return time.monotonic() - started, f"the tree did not settle within {QUIESCENCE_TIMEOUT:.0f}s; see {config.log_dir}"


def run(config: Config, plan: Plan, progress: Callable[[float, int, int], None]) -> dict:
    """Run the drill; the report (see `report_lines`). progress(elapsed, acknowledged, kills)."""
    if not tree.status(config)["healthy"]:
        raise ConfigError("MonClub is not running or not healthy: start it (monclub start) and check monclub status")
    load, kills, stop = Load(config, plan.clients, plan.seed), Kills(), threading.Event()
    load.prepare()
    killer = threading.Thread(target=_kill_loop, args=(config, plan, kills, stop), daemon=True)
    started = time.monotonic()
    load.start()
    killer.start()
    while (elapsed := time.monotonic() - started) < plan.duration:
        progress(elapsed, load.outcomes.acknowledged, sum(kills.per_target.values()))
        time.sleep(0.2)
    progress(plan.duration, load.outcomes.acknowledged, sum(kills.per_target.values()))
    stop.set()
    killer.join()
    load.finish()
    quiet, unsettled = _wait_quiet(config)
    for watcher in kills.watchers:
        watcher.join(QUIESCENCE_TIMEOUT)
    with connect(config.conninfo(), autocommit=True) as conn:
        violations = audit.violations(conn) + load.contradictions(conn) + load.loan_contradictions(conn)
    violations += [f"{place} never served again after its kill" for place in kills.unrecovered]
    violations += [unsettled] if unsettled else []
    recoveries = sorted(kills.recoveries)
    return {
        "seed": plan.seed,
        "duration": plan.duration,
        "kill_every": plan.kill_every,
        "clients": plan.clients,
        "operations_acknowledged": load.outcomes.acknowledged,
        "retries": load.outcomes.retries,
        "outcomes": dict(load.outcomes.counts),
        "kills": dict(kills.per_target),
        "recovery_ms": {
            "count": len(recoveries),
            "median": round(statistics.median(recoveries) * 1000, 1) if recoveries else None,
            "max": round(recoveries[-1] * 1000, 1) if recoveries else None,
        },
        "quiescence_seconds": round(quiet, 2),
        "violations": violations,
        "ok": not violations,
    }


def report_lines(report: dict) -> list[str]:
    outcomes = ", ".join(f"{code} {n}" for code, n in sorted(report["outcomes"].items()))
    kills = ", ".join(f"{place} {n}" for place, n in sorted(report["kills"].items())) or "none"
    recovery = report["recovery_ms"]
    lines = [
        f"chaos drill: seed {report['seed']}, {report['duration']:.0f}s,"
        f" a kill every {report['kill_every'] * 1000:.0f}ms, {report['clients']} clients",
        f"operations acknowledged: {report['operations_acknowledged']}   retries: {report['retries']}",
        f"outcomes: {outcomes}",
        f"kills: {kills}",
        f"time to recover: median {recovery['median']} ms, max {recovery['max']} ms over {recovery['count']} kills",
        f"quiescence after {report['quiescence_seconds']}s",
    ]
    if report["violations"]:
        lines += [f"VIOLATION: {v}" for v in report["violations"]]
    else:
        lines.append(
            "audit: no séance over capacity, every acknowledged outcome in the database, "
            "one live payment per registration, every notification once: no violation"
        )
    return lines
