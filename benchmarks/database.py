"""A database that survives losing its host, measured (docs/database.md, "Figures").

Run:  scripts/bench database [--kills 10] [--clients 1,16,64] [--seconds 5] [--note TEXT]

In one run, on one machine:

1. the price of synchronous replication: MonClub's Réunions supervisor (4 shards) on one
   embedded PostgreSQL, and another on the loopback demo (three PostgreSQL under Patroni and
   etcd, strict synchronous replication: a COMMIT returns once the standby has the WAL),
   interleaved at each step so that the machine's other load falls on both alike: `hot` (C
   clients registering fresh members on one séance) and `spread` (on --spread séances, one picked
   at random per request), at each C of --clients (benchmarks/load.py's closed-loop clients);
2. failover: --kills kills of the demo's primary of each kind (postgres alone, then the whole
   member), alternating, under a small steady registration load through MonClub
   (benchmarks/database_failover.py).

One JSON line is appended to benchmarks/results.jsonl ("benchmark": "database"), with --note (say
"loaded" when other work shares the machine: the figures are then upper bounds).
"""

import argparse
import os
import signal
import sys
from types import SimpleNamespace

import zmq

from benchmarks import database_failover
from benchmarks.dealer import load_all
from benchmarks.harness import RESULTS, add_membres, code_version, machine, record, sandbox, stop, utc_now
from benchmarks.load import Target, run_load
from benchmarks.population import checkpoint, insert_seances, owned_ids
from benchmarks.shards import endpoints, start_reunions
from monclub.postgres.ha.processes import Demo, free_base

PLACES = 100_000  # the most a séance may have
LOAD_CLIENTS = 2  # the failover's steady load: clients, each on its own séance


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=10, help="kills of the primary of each kind (default 10)")
    parser.add_argument("--clients", default="1,16,64", help="client counts of hot and spread (default 1,16,64)")
    parser.add_argument("--seconds", type=float, default=5.0, help="time budget of one load run (default 5)")
    parser.add_argument("--ops", type=int, default=20_000, help="registrations per load run at most (default 20000)")
    parser.add_argument("--spread", type=int, default=1000, help="séances of the spread phase (default 1000)")
    parser.add_argument("--generators", type=int, default=os.cpu_count() or 2, help="load-generator processes")
    parser.add_argument("--note", default="", help="recorded with the figures, e.g. 'loaded: other tests running'")
    args = parser.parse_args(argv)
    args.clients = [int(part) for part in args.clients.split(",") if part.strip()]
    if args.kills < 1 or not args.clients or min(args.clients) < 1 or args.seconds <= 0:
        parser.error("--kills and every client count must be 1 or more, --seconds more than 0")
    return args


def databases(cluster, urls: dict) -> dict:
    """What start_reunions needs of each database: its programs' URL and its owner's."""
    patroni = SimpleNamespace(conninfo=lambda: urls["database_url"], owner_conninfo=lambda: urls["owner_database_url"])
    return {"postgresql": cluster, "patroni": patroni}


def price(args, shards: dict, owners: dict) -> list[dict]:
    """hot and spread at each C, MonClub on each database in turn: one row per (phase, C)."""
    membres = {name: add_membres(owner, args.ops * len(args.clients) * 2) for name, owner in owners.items()}
    rows, used = [], 0
    for phase, count in (("hot", 1), ("spread", args.spread)):
        for clients in args.clients:
            row = {"phase": phase, "clients": clients}
            for name, config in shards.items():
                ids = owned_ids(f"{name}-{phase}{clients}", count)
                insert_seances(owners[name], ids, places=PLACES)
                load_all(zmq.Context.instance(), endpoints(config), ids, config.partitions)
                checkpoint(owners[name])
                print(f"{phase}: {name}, {clients} clients...", flush=True)
                target = Target("monclub", tuple(endpoints(config)), config.partitions)
                mine = membres[name][used : used + args.ops]
                row[name] = run_load(target, ids, mine, clients, args.generators, args.seconds)
            used += args.ops
            base = row["postgresql"]["per_second"]
            row["ratio"] = round(row["patroni"]["per_second"] / base, 2) if base else None
            rows.append(row)
    return rows


def run(args) -> dict:
    with sandbox() as (base, home, cluster):
        base.chmod(0o711)  # the demo's servers run as PostgreSQL's user, which must enter it
        demo = Demo(base / "demo", free_base())
        started = []
        try:
            print("starting the demo (3 etcd, 3 Patroni and PostgreSQL)...", flush=True)
            urls = demo.start()
            shards, owners = {}, {}
            for name, database in databases(cluster, urls).items():
                (base / name).mkdir()
                config, process = start_reunions(base / name, home / name[:2], database)
                started.append(process)
                shards[name], owners[name] = config, database.owner_conninfo()
            result = {
                "benchmark": "database",
                "date": utc_now(),
                "code": code_version(),
                "note": args.note,
                "machine": machine(owners["postgresql"]),
                "options": vars(args),
                "price": price(args, shards, owners),
            }
            stop(started.pop(0), signal.SIGTERM, 20)  # the embedded one's shards: the failover needs them not
            seances = owned_ids("failover", LOAD_CLIENTS)
            insert_seances(owners["patroni"], seances, places=PLACES)
            membres = add_membres(owners["patroni"], LOAD_CLIENTS * args.kills * 2 * 60 * 20)
            result["failover"] = database_failover.measure(
                demo, shards["patroni"], owners["patroni"], seances, membres, args.kills
            )
            return result
        finally:
            for process in started:
                stop(process, signal.SIGTERM, 20)
            demo.stop()


def report(result: dict) -> None:
    print(f"\n{result['date']}, {result['machine']['cpus']} CPUs; {result['note'] or 'no note'}")
    print("the price of synchronous replication (registrations/s, p50/p99 ms): one PostgreSQL | Patroni cluster")
    for row in result["price"]:
        one, three = row["postgresql"], row["patroni"]
        print(
            f"  {row['phase']:<6} C={row['clients']:<3} {one['per_second']:>8.1f} ({one['p50_ms']}/{one['p99_ms']}) | "
            f"{three['per_second']:>8.1f} ({three['p50_ms']}/{three['p99_ms']})  x{row['ratio']}"
        )
    failover = result["failover"]
    print(f"failover under {failover['clients']} clients registering every {failover['pace_seconds']} s:")
    for kind, found in failover["summary"].items():
        print(
            f"  {kind}: {found['kills']} kills, kill to next committed registration median "
            f"{found['commit_median_seconds']} s, max {found['commit_max_seconds']} s (another primary: median "
            f"{found['primary_median_seconds']} s, with a synchronous standby: median "
            f"{found['synchronous_median_seconds']} s); {found['waited']} requests waited, the longest "
            f"{found['longest_wait_seconds']} s"
        )
    print(f"  {failover['acknowledged']} registrations acknowledged, {failover['lost']} lost")
    print(f"appended to {RESULTS}")


def main(argv=None) -> int:
    result = run(parse_args(argv))
    record(result)
    report(result)
    return 0 if result["failover"]["lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
