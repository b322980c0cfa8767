"""MonClub core benchmark: registration throughput on one séance, recovery after kill -9 of a shard.

Run:  scripts/bench core [--clients 1,16,50] [--ops N] [--kills N]

Self-contained: a private PostgreSQL (safe defaults: fsync and synchronous_commit on) and a Réunions
supervisor with 4 shards in temporary directories under /tmp, ipc only, all removed on exit. Figures
are printed and appended as one JSON line to benchmarks/results.jsonl.
Throughput: for each C, C threads (one Client each) register --ops fresh members in total on one new
séance. Recovery: SIGKILL the shard owning a séance, time from the kill to the first successful etat()
of a client retrying quickly; kills rotate over the shards, paced so that each killed shard had run
`stable_after` seconds (restart delay 0) and the restart intensity is never exceeded.
"""

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from statistics import median

from benchmarks.harness import (RESULTS, add_membres, describe, machine, percentile_ms, print_tails, record,
                                sandbox, stop, utc_now, wait_until)
from monclub import config as configuration
from monclub.client import Client, probe
from monclub.errors import MonclubError
from monclub.partition import shard_of
from monclub.protocol import MAX_COUNT
from monclub.supervision.control import query_status
from monclub.supervision.policy import RestartPolicy

SHARDS = 4
PHASE_BUDGET = 90.0  # seconds: a throughput phase stops issuing requests after this


def start_reunions(home: Path, conninfo: str, log: Path) -> tuple[configuration.Config, subprocess.Popen]:
    env = {**os.environ, "MONCLUB_HOME": str(home), "MONCLUB_DATABASE_URL": conninfo,
           "MONCLUB_SHARDS": str(SHARDS), "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "monclub.reunions"], env=env, stdout=out, stderr=out)
    config = configuration.load(env)
    for shard in range(SHARDS):
        wait_until(lambda: answering(config, shard), 60, f"shard {shard} to answer", 0.05)
    return config, process


def answering(config, shard: int) -> bool:
    return probe(config, shard) is not None


def child(config, shard: int) -> dict:
    """The supervisor's status of one shard ({} when the supervisor does not answer in time)."""
    status = query_status(config.endpoint("reunions"), timeout=0.5) or {"children": []}
    return next((c for c in status["children"] if c["name"] == f"shard-{shard}"), {})


def register(config, seance: str, membres: list[int], start: threading.Barrier, stop_at: float, out: dict) -> None:
    with Client(config) as client:
        start.wait(timeout=30)
        for membre in membres:
            if time.monotonic() > stop_at:
                break
            began = time.perf_counter()
            try:
                client.inscrire(seance, membre)
                out["latencies"].append(time.perf_counter() - began)
            except MonclubError as error:
                out["errors"].append(error.code)
        out["retries"].append(client.retries)


def throughput(config, clients: int, ops: int, membres: list[int]) -> dict:
    seance = f"bench-c{clients}-{os.urandom(4).hex()}"
    with Client(config) as client:
        client.creer(seance, f"benchmark C={clients}", places=ops)
    out = {"latencies": [], "errors": [], "retries": []}
    start = threading.Barrier(clients + 1)
    stop_at = time.monotonic() + PHASE_BUDGET
    threads = [threading.Thread(target=register, daemon=True,
                                args=(config, seance, membres[i::clients], start, stop_at, out))
               for i in range(clients)]
    for thread in threads:
        thread.start()
    start.wait(timeout=30)
    began = time.perf_counter()
    for thread in threads:
        thread.join(timeout=max(0.0, stop_at + 30 - time.monotonic()))
    seconds = time.perf_counter() - began
    latencies = sorted(out["latencies"])
    return {"clients": clients, "ops": ops, "committed": len(latencies), "errors": dict(Counter(out["errors"])),
            "seconds": round(seconds, 3), "per_second": round(len(latencies) / seconds, 1),
            "p50_ms": percentile_ms(latencies, 50), "p99_ms": percentile_ms(latencies, 99),
            "retries": sum(out["retries"])}


def pace(config, shard: int, kill_times: list[float]) -> None:
    """Wait until the shard is stable (restart delay 0) and one more restart stays within intensity."""
    stable = RestartPolicy().stable_after + 0.1
    window = config.restart_period + 0.5
    wait_until(lambda: (child(config, shard).get("uptime") or 0) >= stable,
               stable + 10, f"shard {shard} to be stable", 0.1)
    wait_until(lambda: sum(time.monotonic() - t <= window for t in kill_times) < config.restart_intensity,
               window + 1, "the restart window to clear", 0.05)


def recovery(config, kills: int) -> dict:
    names = [f"bench-kill-{os.urandom(4).hex()}" for _ in range(200)]
    seances = [next(name for name in names if shard_of(name, SHARDS) == shard) for shard in range(SHARDS)]
    with Client(config) as client:
        for seance in seances:
            client.creer(seance, "benchmark recovery", places=10)
    samples, retries, kill_times = [], [], []
    for k in range(kills):
        seance = seances[k % SHARDS]
        shard = shard_of(seance, SHARDS)
        pace(config, shard, kill_times)
        pid = wait_until(lambda: child(config, shard).get("pid"), 5, f"the pid of shard {shard}")
        with Client(config, attempt_timeout=0.05, deadline=10) as client:
            client.etat(seance)  # connected and answering before the kill
            killed = time.monotonic()
            os.kill(pid, signal.SIGKILL)
            kill_times.append(killed)
            client.etat(seance)
            samples.append((time.monotonic() - killed) * 1000)
            retries.append(client.retries)
        wait_until(lambda: child(config, shard).get("pid") not in (None, pid) and answering(config, shard),
                   15, f"shard {shard} to answer again")
    return {"kills": kills, "median_ms": round(median(samples), 1), "max_ms": round(max(samples), 1),
            "samples_ms": [round(s, 1) for s in samples], "client_retries": retries}


def report(result: dict) -> None:
    print(f"\nMonClub core benchmark, {describe(result)}")
    print(f"\n{'clients':>7} {'ops':>6} {'committed':>9} {'errors':>6} {'seconds':>8} {'reg/s':>8} "
          f"{'p50 ms':>8} {'p99 ms':>8} {'retries':>7}")
    for row in result["throughput"]:
        errors = sum(row["errors"].values())
        print(f"{row['clients']:>7} {row['ops']:>6} {row['committed']:>9} {errors:>6} {row['seconds']:>8.2f} "
              f"{row['per_second']:>8.1f} {row['p50_ms'] or '-':>8} {row['p99_ms'] or '-':>8} {row['retries']:>7}")
    if rec := result["recovery"]:
        print(f"\nrecovery after kill -9 of a shard ({rec['kills']} kills): median {rec['median_ms']:.1f} ms, "
              f"max {rec['max_ms']:.1f} ms\n  samples ms: {rec['samples_ms']}")
    print(f"\nappended to {RESULTS}")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,16,50", help="comma-separated client counts (default 1,16,50)")
    parser.add_argument("--ops", type=int, default=2000, help="registrations per client count (default 2000)")
    parser.add_argument("--kills", type=int, default=10, help="shard kills for the recovery figure (default 10)")
    args = parser.parse_args(argv)
    args.clients = [int(c) for c in args.clients.split(",") if c.strip()]
    if not args.clients or min(args.clients) < 1 or not 1 <= args.ops <= MAX_COUNT or args.kills < 0:
        parser.error(f"--clients must list counts of 1 or more, --ops be 1 to {MAX_COUNT}, --kills 0 or more")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    with sandbox() as (base, home, cluster):
        return run(args, base, home, cluster)


def run(args: argparse.Namespace, base: Path, home: Path, cluster) -> int:
    reunions = None
    try:
        print("starting the Réunions supervisor...", flush=True)
        config, reunions = start_reunions(home, cluster.conninfo(), base / "reunions.log")
        membres = add_membres(cluster.conninfo(), args.ops * len(args.clients))
        rows = []
        for i, clients in enumerate(args.clients):
            print(f"throughput with {clients} clients...", flush=True)
            rows.append(throughput(config, clients, args.ops, membres[i * args.ops:(i + 1) * args.ops]))
        print(f"recovery, {args.kills} kills...", flush=True)
        result = {"date": utc_now(),
                  "machine": machine(cluster.conninfo()), "shards": SHARDS,
                  "throughput": rows, "recovery": recovery(config, args.kills) if args.kills else None}
        record(result)
        report(result)
        return 0
    except BaseException:
        print_tails([base / "reunions.log", base / "pg" / "server.log"])
        raise
    finally:
        stop(reunions, signal.SIGTERM, 20)


if __name__ == "__main__":
    sys.exit(main())
