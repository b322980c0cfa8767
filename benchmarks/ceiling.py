"""The ceiling phase: what this PostgreSQL can make durable, and what the load generator can send,
measured in the same run as MonClub (same server, same settings, synchronous_commit on).

- multirow: one connection commits, again and again, --ceiling-rows registrations of one séance
  in one transaction, shaped as the shard writes a batch of them (one multi-row INSERT into
  `inscriptions`, the real table with its counter trigger, then their outbox events in one
  statement, the sequence taken as MonClub takes it; benchmarks/statements.py), in one pipeline
  committed at its Sync. Registrations/s, two rows each: what group commit could reach at best.
- commits: one-row commits (an autocommit INSERT of one inscription, on séances picked at random
  among --spread) by C connections, for C = 1 and the largest client count, over the load
  generator's processes (benchmarks/load.py): PostgreSQL's commits/s without batching.
- generator: the load generator's own ceiling, every client asking the shards their no-op `ping`
  (one in flight each, routed as a registration), for each client count of the run.
"""

import time

from benchmarks import statements
from benchmarks.harness import add_membres, percentile_ms
from benchmarks.load import Target, run_load
from benchmarks.population import checkpoint, insert_seances, owned_ids
from benchmarks.shards import endpoints
from monclub.db import connect

MULTIROW_SECONDS = 5.0  # one connection in a steady loop: a few seconds give a stable rate
TITRE = "benchmark"


def durable(conn) -> None:
    """Refuse to measure on a session whose commits are not flushed before they return."""
    if (setting := conn.execute("SHOW synchronous_commit").fetchone()[0]) != "on":
        raise RuntimeError(f"synchronous_commit is {setting}, not on")


def multirow(conninfo: str, rows: int, seconds: float, label: str = "ceiling-multi") -> dict:
    """Commit `rows` registrations per transaction from one connection for `seconds`."""
    membres = add_membres(conninfo, rows)
    seances = owned_ids(label, max(100, int(seconds * 200_000 / rows)))
    insert_seances(conninfo, seances, places=rows)
    checkpoint(conninfo)
    latencies = []
    with connect(conninfo, autocommit=True) as conn:
        durable(conn)
        began = time.monotonic()
        for seance in seances:
            start = time.monotonic()
            if start - began >= seconds:
                break
            with conn.pipeline():
                for statement in statements.registrations(statements.seance_named(seance, TITRE, 0), membres):
                    conn.execute(*statement)
            latencies.append(time.monotonic() - start)
        elapsed = time.monotonic() - began
    registrations = len(latencies) * rows
    return {
        "shape": "inscription + outbox event",
        "rows_per_commit": rows,
        "commits": len(latencies),
        "seconds": round(elapsed, 3),
        "per_second": round(registrations / elapsed, 1),
        "rows_per_second": round(2 * registrations / elapsed, 1),
        "commit_p50_ms": percentile_ms(sorted(latencies), 50),
        "ran_out": len(latencies) == len(seances),
    }


def commits(conninfo: str, args, membres: list[int], clients: int) -> dict:
    """One-row commits by `clients` connections on fresh séances, one per membre at most."""
    seances = owned_ids(f"ceiling-one{clients}", args.spread)
    insert_seances(conninfo, seances, places=len(membres))
    checkpoint(conninfo)
    print(f"ceiling: one-row commits, {clients} connections...", flush=True)
    return run_load(Target("commit", conninfo=conninfo), seances, membres, clients, args.generators, args.seconds)


def generator(config, conninfo: str, args, clients: int) -> dict:
    """The generator's ping rate with `clients` clients, spread over the shards."""
    checkpoint(conninfo)
    print(f"ceiling: the generator against ping, {clients} clients...", flush=True)
    target = Target("ping", tuple(endpoints(config)), config.partitions)
    tokens = list(range(args.ops * len(args.clients)))
    return run_load(target, owned_ids("ping", 64), tokens, clients, args.generators, args.seconds)


def measure(config, conninfo: str, args, membres: list[int]) -> dict:
    print(f"ceiling: multi-row commits of {args.ceiling_rows} registrations, one connection...", flush=True)
    counts = sorted({1, max(args.clients)})
    return {
        "multirow": multirow(conninfo, args.ceiling_rows, min(args.seconds, MULTIROW_SECONDS)),
        "commits": [commits(conninfo, args, membres, clients) for clients in counts],
        "generator": [generator(config, conninfo, args, clients) for clients in args.clients],
    }


def fraction(part: float | None, whole: float | None, digits: int = 3) -> float | None:
    return round(part / whole, digits) if part and whole else None


def shares(result: dict) -> dict:
    """By phase and client count: MonClub's registrations/s as a fraction of the multi-row ceiling
    and of the one-row commits at the same count, and the generator's headroom, its ping rate over
    MonClub's registration rate at the same count (pure)."""
    found = result["ceiling"]
    multirow = found["multirow"]["per_second"]
    commits = {row["clients"]: row["per_second"] for row in found["commits"]}
    pings = {row["clients"]: row["per_second"] for row in found["generator"]}
    return {
        phase: [
            {
                "clients": row["clients"],
                "of_multirow": fraction(row["monclub"]["per_second"], multirow),
                "of_commits": fraction(row["monclub"]["per_second"], commits.get(row["clients"])),
                "generator_headroom": fraction(pings.get(row["clients"]), row["monclub"]["per_second"], 2),
            }
            for row in result.get(phase) or []
        ]
        for phase in ("hot", "spread")
    }


def _rates(rows: list[dict]) -> str:
    return " | ".join(f"C={row['clients']} {row['per_second']:,.0f}/s (p50 {row['p50_ms']} ms)" for row in rows)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def lines(found: dict) -> list[str]:
    """The ceiling phase as printed rows (pure)."""
    multi = found["multirow"]
    out = [
        f"multi-row: {multi['rows_per_commit']:,} registrations per commit ({multi['shape']}), one connection: "
        f"{multi['per_second']:,.0f} reg/s = {multi['rows_per_second']:,.0f} rows/s "
        f"(commit p50 {multi['commit_p50_ms']} ms, {multi['commits']} commits"
        f"{', ran out of séances' if multi['ran_out'] else ''})",
        f"one-row commits, C connections: {_rates(found['commits'])}",
        f"the generator against ping, C clients: {_rates(found['generator'])}",
    ]
    if any(found["shares"].values()):
        out.append(
            f"{'MonClub':<8} {'clients':>7} {'of multi-row':>12} {'of one-row commits':>18} {'ping/s over reg/s':>17}"
        )
    for phase, rows in found["shares"].items():
        out += [
            f"{phase:<8} {row['clients']:>7} {_percent(row['of_multirow']):>12} {_percent(row['of_commits']):>18} "
            f"{row['generator_headroom'] or '-':>17}"
            for row in rows
        ]
    return out


def report(found: dict) -> None:
    print("\nceiling: what this PostgreSQL makes durable (synchronous_commit on), and the load generator's own")
    for line in lines(found):
        print(f"  {line}")
