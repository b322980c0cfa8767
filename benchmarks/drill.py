"""Time to serve again after a PostgreSQL kill, under the chaos drill's load.

Run:  scripts/bench drill [--duration 60] [--kill-every 5000] [--seed 8]

Starts a whole MonClub of its own (`monclub start`, embedded PostgreSQL, in a temporary state
directory removed on exit), runs `monclub drill chaos --targets postgres` with kills at least
--kill-every ms apart, and records the drill's figures for each PostgreSQL kill: when the new
server answered a connection, and when the service was back (the first operation acknowledged
after that). Target: median time to serve again <= 3 s. One JSON line is appended to
benchmarks/results.jsonl ("benchmark": "drill-postgres").
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.harness import RESULTS, code_version, machine, record, utc_now
from monclub.postgres.embedded import Cluster

TARGET_SECONDS = 3.0


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load and kills")
    parser.add_argument("--kill-every", type=int, default=5000, help="milliseconds between two kills")
    parser.add_argument("--seed", type=int, default=8)
    return parser.parse_args(argv)


def monclub(env: dict, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "monclub", *args], env=env, text=True, timeout=timeout)


def drill(args: argparse.Namespace, env: dict, report_path: Path) -> dict:
    """The drill's report, with the machine it ran on."""
    monclub(env, "start").check_returncode()
    found = machine(Cluster.for_home(Path(env["MONCLUB_HOME"])).conninfo())
    chaos = ["drill", "chaos", "--targets", "postgres", "--duration", str(args.duration)]
    chaos += ["--kill-every", str(args.kill_every), "--seed", str(args.seed), "--report", str(report_path)]
    done = monclub(env, *chaos, timeout=args.duration + 180)
    report = json.loads(report_path.read_text())
    return {"machine": found, "command": " ".join(["monclub", *chaos[:-2]]), "drill_exit": done.returncode, **report}


def result_of(report: dict) -> dict:
    serving = report["postgres"]["serving_seconds"]
    median = serving["median"]
    return {
        "date": utc_now(),
        "benchmark": "drill-postgres",
        "code": code_version(),
        "machine": report["machine"],
        "command": report["command"],
        "audit_ok": report["ok"],
        "drill_exit": report["drill_exit"],
        "violations": report["violations"],
        "operations_acknowledged": report["operations_acknowledged"],
        "postgres_kills": report["postgres"]["kills"],
        "serving_seconds": serving,
        "targets": [
            {
                "name": "time to serve again after a PostgreSQL kill, median",
                "goal": f"<= {TARGET_SECONDS:.0f} s",
                "value": median,
                "shown": f"{median} s" if median is not None else "never",
                "pass": median is not None and median <= TARGET_SECONDS,
            }
        ],
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    private = Path(tempfile.mkdtemp(prefix="mcdrill-", dir="/tmp"))
    env = {**os.environ, "MONCLUB_HOME": str(private / "home")}
    try:
        report = drill(args, env, private / "report.json")
    finally:
        monclub(env, "stop")
        Cluster.for_home(private / "home").destroy()
        shutil.rmtree(private, ignore_errors=True)
    result = result_of(report)
    record(result)
    rows = result["postgres_kills"]
    print(f"\n{result['command']}: audit {'ok' if result['audit_ok'] else 'FAILED'}, {len(rows)} PostgreSQL kills")
    for row in rows:
        serving = f"{row['serving_seconds']} s" if row["serving_seconds"] is not None else row["not_serving"]
        print(f"  at {row['at']:6.2f} s: database answers after {row['database_seconds']} s, serving after {serving}")
    target = result["targets"][0]
    verdict = "PASS" if target["pass"] else "MISS"
    print(
        f"{target['name']}: {target['shown']} (max {result['serving_seconds']['max']} s), {target['goal']}: {verdict}"
    )
    print(f"appended to {RESULTS}")
    return 0 if target["pass"] and result["audit_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
