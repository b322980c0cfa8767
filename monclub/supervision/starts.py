"""Each program's starts since `monclub start` (supervisord keeps no restart count), recorded by
the program itself in the run directory: how many, when the last one was, and how many of the
last ones died young. From that record, a program restarted by supervisord waits its restart
delay (RestartPolicy.delay: none after a stable run, then growing, capped) before it starts, so
that repeated kills never make supervisord give up on it (it restarts programs at once and
forever: startsecs=0) and a crash loop never spins."""

import time
from dataclasses import dataclass
from pathlib import Path

from monclub.supervision.policy import RestartPolicy


@dataclass(frozen=True)
class Starts:
    count: int = 0
    last: float = 0.0
    quick_deaths: int = 0


def _path(run_dir: Path, program: str) -> Path:
    return run_dir / "starts" / program


def read(run_dir: Path, program: str) -> Starts:
    try:
        fields = _path(run_dir, program).read_text().split()
        return Starts(int(fields[0]), float(fields[1]), int(fields[2]))
    except (FileNotFoundError, ValueError, IndexError):
        return Starts()


def starts(run_dir: Path, program: str) -> int:
    return read(run_dir, program).count


def next_start(previous: Starts, policy: RestartPolicy, now: float) -> tuple[float, Starts]:
    """How long to wait before this start, and the record of it. The previous run is taken to have
    lasted from its start until now: a program killed young and restarted at once by supervisord
    is a quick death; one that ran `policy.stable_after` seconds starts again without delay."""
    if previous.count == 0:
        return 0.0, Starts(1, now, 0)
    delay, quick_deaths = policy.delay(now - previous.last, previous.quick_deaths)
    return delay, Starts(previous.count + 1, now + delay, quick_deaths)


def record(run_dir: Path, program: str, start: Starts) -> None:
    path = _path(run_dir, program)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"{start.count} {start.last} {start.quick_deaths}")
    tmp.replace(path)


def record_start(run_dir: Path, program: str, policy: RestartPolicy) -> float:
    """Record this start of `program`; the delay it must wait first."""
    delay, start = next_start(read(run_dir, program), policy, time.time())
    record(run_dir, program, start)
    return delay


def reset(run_dir: Path) -> None:
    for path in (run_dir / "starts").glob("*"):
        path.unlink()
