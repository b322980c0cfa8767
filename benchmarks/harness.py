"""What the benchmarks share: a private PostgreSQL, bounded waits, process stops, members,
percentiles, the machine's description, and the results file.

Used by the phases of benchmarks/perf.py (run with scripts/bench).
"""

import contextlib
import datetime
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from monclub import compiled
from monclub.db import connect
from monclub.db.migrate import migrate
from monclub.postgres.embedded import APP_ROLE, Cluster, run_user

RESULTS = Path(__file__).resolve().parent / "results.jsonl"


def own_env() -> dict[str, str]:
    """This environment for the processes a benchmark starts: without the MONCLUB_ settings of any
    running MonClub (the benchmark sets its own), but with the build it runs (MONCLUB_COMPILED)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("MONCLUB_") or k == "MONCLUB_COMPILED"}


def wait_until(condition, timeout: float, what: str, interval: float = 0.02):
    """Poll `condition` until it returns a true value (returned), or raise after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
    return value


def reachable(conninfo: str) -> bool:
    try:
        with psycopg.connect(conninfo, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


def start_postgres(base: Path) -> tuple[Cluster, subprocess.Popen]:
    """A private, migrated cluster under `base` with safe defaults (fsync, synchronous_commit on).
    Stop the returned server with stop(server, signal.SIGINT, 30)."""
    cluster = Cluster(base / "pg", run_user())
    cluster.ensure_initialized(sync=True)
    server = cluster.server_process({})
    wait_until(lambda: reachable(cluster.owner_conninfo()), 60, "PostgreSQL to accept connections", 0.05)
    with connect(cluster.owner_conninfo(), autocommit=True) as conn:
        migrate(conn, APP_ROLE)
    return cluster, server


@contextlib.contextmanager
def sandbox():
    """(base, home, cluster): temporary directories and a private PostgreSQL under `base`, all
    removed on the way out, SIGTERM included. `home` is short, for ipc socket paths."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    base = Path(tempfile.mkdtemp(prefix="mcbench-", dir="/tmp"))
    home = Path(tempfile.mkdtemp(prefix="mcb-", dir="/tmp"))
    server = None
    try:
        print("starting PostgreSQL...", flush=True)
        cluster, server = start_postgres(base)
        yield base, home, cluster
    finally:
        stop(server, signal.SIGINT, 30)
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(base, ignore_errors=True)


def stop(process: subprocess.Popen | None, sig: int, timeout: float) -> None:
    """Send `sig` and wait up to `timeout` seconds, then SIGKILL."""
    if process is not None and process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def add_membres(conninfo: str, count: int) -> list[int]:
    """Insert `count` members in one statement; their ids."""
    with connect(conninfo, autocommit=True) as conn:
        rows = conn.execute(
            "INSERT INTO membres (nom) SELECT 'bench ' || n FROM generate_series(1, %s) n RETURNING id", (count,)
        ).fetchall()
    return [row[0] for row in rows]


def percentile_ms(ordered: list[float], p: float) -> float | None:
    """Nearest-rank percentile of sorted seconds, in ms (None when there is no sample)."""
    return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000, 2) if ordered else None


def utc_now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


# What decides how fast a commit is durable, recorded with every run (one server for every contender).
SERVER_SETTINGS = (
    "wal_sync_method",
    "full_page_writes",
    "wal_level",
    "commit_delay",
    "commit_siblings",
    "wal_buffers",
    "wal_writer_delay",
    "shared_buffers",
    "max_wal_size",
    "checkpoint_timeout",
    "max_connections",
)


def host() -> dict:
    """The machine alone, for a benchmark without PostgreSQL."""
    return {
        "node": platform.node(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def machine(conninfo: str) -> dict:
    """The machine and the server: `postgresql_settings` (fsync, synchronous_commit), the other
    settings of SERVER_SETTINGS, and any per-role or per-database override (none expected)."""
    with connect(conninfo, autocommit=True) as conn:
        version = conn.execute("SELECT version()").fetchone()[0]
        settings = {name: conn.execute(f"SHOW {name}").fetchone()[0] for name in ("fsync", "synchronous_commit")}
        server = {name: conn.execute(f"SHOW {name}").fetchone()[0] for name in SERVER_SETTINGS}
        overrides = conn.execute(
            "SELECT setrole::regrole::text, setdatabase, setconfig FROM pg_db_role_setting"
        ).fetchall()
    return {
        **host(),
        "postgresql": version,
        "postgresql_settings": settings,
        "server_settings": server,
        "overrides": [list(row) for row in overrides],
        "compiled": compiled.running(),  # the optional build (MONCLUB_COMPILED=1), which the processes inherit
    }


def code_version() -> str | None:
    """The checkout's commit, "+changes" when tracked files differ (the benchmark's own outputs
    aside), None outside git."""
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            [
                "git",
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                ":!benchmarks/results.jsonl",
                ":!docs/bench-hot.png",
            ],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+changes" if dirty else "")


def describe(result: dict) -> str:
    """'<date>, <n> CPUs, <PostgreSQL version> <settings>' for a report's first line."""
    m = result["machine"]
    return f"{result['date']}, {m['cpus']} CPUs, {m['postgresql'].split(' on ')[0]} {m['postgresql_settings']}"


def record(result: dict) -> None:
    """Append the result as one JSON line to benchmarks/results.jsonl."""
    with RESULTS.open("a") as out:
        out.write(json.dumps(result) + "\n")


def print_tails(logs: list[Path], lines: int = 15) -> None:
    """The last lines of each existing log, on stderr (after a failure)."""
    for log in logs:
        if log.exists():
            tail = log.read_text(errors="replace").splitlines()[-lines:]
            print(f"--- end of {log}:", *tail, sep="\n", file=sys.stderr)
