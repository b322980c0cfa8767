"""A demo member's host on this machine, for the faults that take it whole (`monclub drill
database`, scripts/bench database): its processes, and the demo process that starts a dead host
again when asked (the drill plays the fault, the demo the operator who restarts the machine).

A member's host is every process working under its home: the demo starts its etcd and Patroni
there, and PostgreSQL works in its data directory below it (its postmaster and every backend).
The demo writes its pid into `<directory>/demo.pid` while it runs; SIGUSR1 asks it to start
again every member whose etcd or Patroni has exited (Demo.revive_dead)."""

import contextlib
import os
import signal
from pathlib import Path

PID_FILE = "demo.pid"
PROC = Path("/proc")


def working_in(directory: Path, proc: Path = PROC) -> list[int]:
    """The pids whose working directory is `directory` or below it (`proc`: /proc, or a fake
    tree of `<pid>/cwd` links)."""
    inside, found = str(directory), []
    for entry in proc.iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):  # gone meanwhile, a zombie, or not ours to read
                cwd = os.readlink(entry / "cwd")
                if cwd == inside or cwd.startswith(inside + "/"):
                    found.append(int(entry.name))
    return sorted(found)


def postmaster(home: Path) -> int:
    """The pid of the member's running postmaster (the first line of its postmaster.pid)."""
    return int((home / "data" / "postmaster.pid").read_text().split()[0])


def processes(home: Path, whole_host: bool, proc: Path = PROC) -> list[int]:
    """What a fault of the member at `home` hits: its postmaster alone, or its whole host."""
    return working_in(home, proc) if whole_host else [postmaster(home)]


def signal_all(pids: list[int], sig: int) -> None:
    """Send `sig` to each of a host's processes; one that has ended since it was listed (a
    backend whose session closed, a helper that finished) is skipped."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def write_pid(directory: Path) -> None:
    (directory / PID_FILE).write_text(f"{os.getpid()}\n")


def remove_pid(directory: Path) -> None:
    (directory / PID_FILE).unlink(missing_ok=True)


def demo_pid(directory: Path) -> int | None:
    """The pid of the demo running in `directory`: None without its pid file, or when that
    process is gone (a demo killed without its clean stop leaves the file)."""
    try:
        pid = int((directory / PID_FILE).read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def ask_revive(directory: Path) -> bool:
    """Ask the demo in `directory` to start its dead members again; False when it is not running."""
    pid = demo_pid(directory)
    if pid is None:
        return False
    os.kill(pid, signal.SIGUSR1)
    return True
