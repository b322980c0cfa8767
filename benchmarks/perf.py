"""MonClub performance benchmark: MonClub against the classic transaction, recovery, events, memory.

Run:  scripts/bench perf [--quick] [--only events,hot,spread,ceiling,breakdown,recovery] [options, see --help]

One run, one private PostgreSQL (fsync and synchronous_commit on, unix socket, in a temporary
directory, removed on exit with everything else; its settings recorded with the result, the same
for every contender), phases in this order:
  events    the whole tree: commit-to-listener latency at a steady rate, catch-up of a listener
            that was down for --backlog events (benchmarks/events.py);
  hot       the Réunions supervisor alone, 4 shards: C clients register fresh members on ONE séance,
            MonClub through its shard, then the classic transaction by C direct psycopg clients on
            another séance of the same cluster, then the classic plus the outbox event MonClub
            writes (the fair second reference: `classic_outbox`, its ratio `ratio_outbox`) on a
            third (benchmarks/load.py), for each C of --clients;
  spread    the same over --spread séances each (a client picks one at random for each request);
  ceiling   what this PostgreSQL makes durable, and what the load generator can send
            (benchmarks/ceiling.py): multi-row commits of --ceiling-rows registrations (inscription
            + outbox event) from one connection, one-row commits at 1 and the largest C
            connections, the generator against the shards' no-op `ping` at each C; MonClub's
            share of each (`ceiling.shares`);
  breakdown where the time of one registration goes at 1 client: a registration through the shard
            against each piece timed apart in turn on the same data (client encode, ZeroMQ hop,
            decode, membre lookup, decide, reply encode and decode, the SQL round trip, COMMIT),
            their sum and what it leaves (benchmarks/breakdown.py);
  recovery  kill -9 of a shard owning N séances for each N of --owned, then of a shard with
            --loaded séances in memory, whose RSS before and after the load gives the memory per
            loaded idle séance (benchmarks/recovery.py).
Then the targets of the performance issue, PASS or MISS; the result is appended as one JSON line to
benchmarks/results.jsonl (new phases under new keys: `ceiling`, `breakdown`, and in each hot and
spread row `classic_outbox`, `ratio_outbox`; issue 28's `cpu` in each contender's run and in both
parts of `events`: µs of CPU per command by process kind, the model ceiling, benchmarks/cpu.py)
and the hot phase drawn in --chart (needs matplotlib, the bench extra). A CHECKPOINT precedes
every timed throughput run, for every contender.
"""

import argparse
import contextlib
import os
import signal
import sys
from pathlib import Path

import zmq

from benchmarks import breakdown, ceiling, chart, cpu, events
from benchmarks.dealer import load_all
from benchmarks.harness import (
    RESULTS,
    add_membres,
    code_version,
    describe,
    machine,
    print_tails,
    record,
    sandbox,
    stop,
    utc_now,
)
from benchmarks.load import Target, run_load
from benchmarks.population import checkpoint, insert_seances, owned_ids
from benchmarks.profile import recording, shard_pid
from benchmarks.recovery import recovery
from benchmarks.shards import SHARDS, endpoints, start_reunions
from benchmarks.targets import by_clients, evaluate, ratio, verdict
from monclub.cluster.partition import home_shard
from monclub.config import CHECKOUT
from monclub.contract.protocol import MAX_COUNT

PHASES = ("events", "hot", "spread", "ceiling", "breakdown", "recovery")
BREAKDOWN_SAMPLES = 2000
FULL = {
    "clients": "1,16,64",
    "ops": 30_000,
    "seconds": 15.0,
    "spread": 10_000,
    "owned": "10,10000,100000",
    "loaded": 10_000,
    "kills": 20,
    "rate": 200.0,
    "events_ops": 2000,
    "backlog": 100_000,
    "batch": 1000,
    "ceiling_rows": 1000,
}
QUICK = {
    **FULL,
    "ops": 800,
    "seconds": 4.0,
    "owned": "10,1000,10000",
    "loaded": 2000,
    "kills": 4,
    "events_ops": 300,
    "backlog": 10_000,
}


def _counts(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts for development (about a minute)")
    parser.add_argument("--only", default=",".join(PHASES), help=f"phases to run (default {','.join(PHASES)})")
    parser.add_argument("--clients", help=f"client counts (default {FULL['clients']})")
    parser.add_argument("--ops", type=int, help=f"registrations per run at most (default {FULL['ops']})")
    parser.add_argument("--seconds", type=float, help=f"time budget of one run (default {FULL['seconds']:g})")
    parser.add_argument(
        "--generators",
        type=int,
        default=os.cpu_count() or 2,
        help="load-generator processes at most (default: the CPU count)",
    )
    parser.add_argument("--spread", type=int, help=f"séances of the spread phase (default {FULL['spread']})")
    parser.add_argument("--owned", help=f"séances owned per shard, by level (default {FULL['owned']})")
    parser.add_argument("--loaded", type=int, help=f"séances loaded before a kill, 0: none (default {FULL['loaded']})")
    parser.add_argument("--kills", type=int, help=f"kills per recovery level (default {FULL['kills']})")
    parser.add_argument("--rate", type=float, help=f"events: registrations per second (default {FULL['rate']:g})")
    parser.add_argument("--events-ops", type=int, help=f"events: paced registrations (default {FULL['events_ops']})")
    parser.add_argument(
        "--backlog", type=int, help=f"events: events while Paiements is down (default {FULL['backlog']})"
    )
    parser.add_argument("--batch", type=int, help=f"events: events per appending transaction (default {FULL['batch']})")
    parser.add_argument(
        "--ceiling-rows",
        type=int,
        help=f"ceiling: registrations per multi-row commit (default {FULL['ceiling_rows']})",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="py-spy flame graph (SVG) of the hot séance's shard during the MonClub run with the most clients",
    )
    parser.add_argument(
        "--chart",
        default=str(CHECKOUT / "docs" / "bench-hot.png"),
        help="PNG of the hot phase, '' for none (default docs/bench-hot.png)",
    )
    args = parser.parse_args(argv)
    for name, default in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, default)
    args.only = [phase.strip() for phase in args.only.split(",") if phase.strip()]
    args.clients, args.owned = _counts(args.clients), _counts(args.owned)
    problems = [
        set(args.only) - set(PHASES) and f"--only takes {','.join(PHASES)}",
        (not args.clients or min(args.clients) < 1) and "--clients must list counts of 1 or more",
        not 1 <= args.ops * len(args.clients) <= MAX_COUNT
        and f"--ops times the client counts must be 1 to {MAX_COUNT}",
        not 1 <= args.generators <= 64 and "--generators must be 1 to 64",
        not 1 <= args.spread <= MAX_COUNT and f"--spread must be 1 to {MAX_COUNT}",
        (not args.owned or min(args.owned) < 1 or max(args.owned) > 1_000_000) and "--owned must list 1 to 1,000,000",
        not 0 <= args.loaded <= MAX_COUNT and f"--loaded must be 0 to {MAX_COUNT}",
        args.kills < 1 and "--kills must be 1 or more",
        not 0 < args.rate <= 10_000 and "--rate must be in (0, 10000]",
        not 1 <= args.events_ops <= MAX_COUNT and f"--events-ops must be 1 to {MAX_COUNT}",
        not 1 <= args.backlog <= MAX_COUNT and f"--backlog must be 1 to {MAX_COUNT}",
        not 1 <= args.batch <= 10_000 and "--batch must be 1 to 10000",
        not 1 <= args.ceiling_rows <= 10_000 and "--ceiling-rows must be 1 to 10000",
        args.seconds <= 0 and "--seconds must be more than 0",
    ]
    if problem := next((p for p in problems if p), None):
        parser.error(problem)
    return args


def compare(
    config, conninfo: str, args, label: str, seance_count: int, membres: list[int], meter: cpu.Meter
) -> list[dict]:
    """For each C: MonClub on `seance_count` new séances, then the classic on as many others; fresh
    séances for each C, so that no run inherits the registrations of the previous one. Each run's
    `cpu`: the CPU per registration of each process kind, and the model ceiling it gives."""
    contenders = {
        "monclub": Target("monclub", tuple(endpoints(config)), config.partitions),
        "classic": Target("classic", conninfo=conninfo),
        "classic_outbox": Target("classic_outbox", conninfo=conninfo),
    }
    rows = []
    for i, clients in enumerate(args.clients):
        ids = {kind: owned_ids(f"{label}{clients}-{kind}", seance_count) for kind in contenders}
        insert_seances(conninfo, [seance for kind in contenders for seance in ids[kind]], places=args.ops)
        load_all(zmq.Context.instance(), endpoints(config), ids["monclub"], config.partitions)
        row = {"clients": clients}
        for kind, target in contenders.items():
            print(f"{label}: {kind}, {clients} clients...", flush=True)
            checkpoint(conninfo)
            profiled = args.profile and label == "hot" and kind == "monclub" and clients == max(args.clients)
            with (
                recording(
                    shard_pid(config, home_shard(ids[kind][0], config.partitions, SHARDS), "reunions"), args.profile
                )
                if profiled
                else contextlib.nullcontext()
            ):
                row[kind] = run_load(
                    target,
                    ids[kind],
                    membres[i * args.ops : (i + 1) * args.ops],
                    clients,
                    args.generators,
                    args.seconds,
                    meter,
                )
        row["ratio"] = ratio(row["monclub"], row["classic"])
        row["ratio_outbox"] = ratio(row["monclub"], row["classic_outbox"])
        rows.append(row)
    return rows


def run(args, base: Path, home: Path, cluster) -> dict:
    conninfo = cluster.owner_conninfo()  # the benchmark's own writes, CHECKPOINT; MonClub runs as its application role
    result = {
        "benchmark": "perf",
        "date": utc_now(),
        "code": code_version(),
        "quick": args.quick,
        "machine": machine(conninfo),
        "shards": SHARDS,
        "options": {k: v for k, v in vars(args).items() if k not in ("chart", "profile")},
        "hot": None,
        "spread": None,
        "recovery": None,
        "events": None,
        "ceiling": None,
        "breakdown": None,
    }
    if "events" in args.only:
        result["events"] = events.measure(args, base, home / "e", cluster)
    if not {"hot", "spread", "ceiling", "breakdown", "recovery"} & set(args.only):
        return result
    print("starting the Réunions supervisor...", flush=True)
    reunions = None
    try:
        config, reunions = start_reunions(base, home / "r", cluster)
        loads = {"hot", "spread", "ceiling"} & set(args.only)
        membres = add_membres(conninfo, args.ops * len(args.clients)) if loads else []
        with contextlib.closing(cpu.Meter(cluster, lambda: {reunions.pid: (cpu.SUPERVISOR, cpu.SHARDS)})) as meter:
            if "hot" in args.only:
                result["hot"] = compare(config, conninfo, args, "hot", 1, membres, meter)
            if "spread" in args.only:
                result["spread"] = compare(config, conninfo, args, "spread", args.spread, membres, meter)
        if "ceiling" in args.only:
            result["ceiling"] = ceiling.measure(config, conninfo, args, membres)
            result["ceiling"]["shares"] = ceiling.shares(result)
        if "breakdown" in args.only:
            samples = min(BREAKDOWN_SAMPLES, args.ops)
            result["breakdown"] = breakdown.measure(config, conninfo, cluster.conninfo(), samples)
        if "recovery" in args.only:
            print(f"recovery: {args.kills} kills per level...", flush=True)
            result["recovery"] = recovery(config, conninfo, args.owned, args.loaded, args.kills)
        return result
    except BaseException:
        print_tails([base / "reunions.log", base / "pg" / "server.log"])
        raise
    finally:
        stop(reunions, signal.SIGTERM, 20)


def _cell(row: dict) -> str:
    errors = sum(row["errors"].values())
    return (
        f"{row['per_second']:>9,.0f} {row['p50_ms'] or '-':>7} {row['p99_ms'] or '-':>7}"
        f"{'' if not errors else f' ({errors} err)':>10}"
    )


def _head(name: str) -> str:
    return f"{name + ' reg/s':>13} {'p50 ms':>7} {'p99 ms':>7} {'':>10}| "


def report_throughput(title: str, rows: list[dict]) -> None:
    """MonClub, the classic transaction, the classic with the outbox event (its own ratio last)."""
    print(f"\n{title}")
    print(f"{'clients':>7} | {_head('MonClub')}{_head('classic')}{'ratio':>6} | {_head('+outbox')}{'ratio':>6}")
    for row in rows:
        print(
            f"{row['clients']:>7} |     {_cell(row['monclub'])}|     {_cell(row['classic'])}| {row['ratio'] or '-':>6} "
            f"|     {_cell(row['classic_outbox'])}| {row['ratio_outbox'] or '-':>6}"
        )
    cpu.report(rows)
    for row in rows:
        for kind in ("monclub", "classic", "classic_outbox"):
            if row[kind]["errors"]:
                print(f"  errors, {kind} with {row['clients']} clients: {row[kind]['errors']}")


def report_recovery(levels: list[dict]) -> None:
    print("\nrecovery: kill -9 of a shard to the first ok reply of a probe resending every 3 ms")
    print(
        f"{'owned/shard':>11} {'loaded':>7} {'kills':>5} {'median ms':>9} {'max ms':>7} {'unavailable':>11} "
        f"{'in the spare':>12}"
    )
    for lv in levels:
        print(
            f"{lv['owned']:>11,} {lv['loaded']:>7,} {lv['kills']:>5} {lv['median_ms']:>9} {lv['max_ms']:>7} "
            f"{sum(lv['unavailable_replies']):>11} {sum(lv['in_the_spare']):>12}"
        )
    for lv in levels:
        if memory := lv["memory"]:
            loads = ", ".join(
                f"{m['before_kib']:,}->{m['after_kib']:,} KiB ({m['loaded']:,} in memory)" for m in memory["samples"]
            )
            print(
                f"\nmemory: {memory['kib_per_seance']} KiB of RSS per loaded idle séance (median; max "
                f"{memory['max_kib_per_seance']}), {memory['seances']:,} séances loaded per shard: {loads}"
            )


def report(result: dict) -> None:
    print(
        f"\nMonClub performance benchmark{' (QUICK run)' if result['quick'] else ''}, {describe(result)}, "
        f"{result['shards']} shards"
    )
    if result["events"]:
        events.report(result["events"])
    if result["hot"]:
        report_throughput(
            "hot: C clients, one séance (MonClub: one shard; classic: SELECT ... FOR UPDATE)", result["hot"]
        )
    if result["spread"]:
        report_throughput(
            f"spread: C clients, {result['options']['spread']:,} séances each, picked at random", result["spread"]
        )
    if result["ceiling"]:
        ceiling.report(result["ceiling"])
    if result["breakdown"]:
        hot_1 = by_clients(result["hot"], 1)
        breakdown.report(result["breakdown"], hot_1["monclub"]["p50_ms"] if hot_1 else None)
    if result["recovery"]:
        report_recovery(result["recovery"])
    print(f"\n{'target':<46} {'goal':>14} {'measured':>24} {'':>5}")
    for target in result["targets"]:
        print(f"{target['name']:<46} {target['goal']:>14} {target['shown']:>24} {verdict(target):>5}")


def main(argv=None) -> int:
    args = parse_args(argv)
    with sandbox() as (base, home, cluster):
        result = run(args, base, home, cluster)
    result["targets"] = evaluate(result)
    record(result)
    report(result)
    if result["hot"] and args.chart:
        print(chart.draw(result, Path(args.chart)))
    print(f"\nappended to {RESULTS}")
    return 0 if not result["events"] or result["events"]["verified"] else 1


if __name__ == "__main__":
    sys.exit(main())
