"""Every aggregate's history: reading one séance's long history, replaying it, and exporting the
archive.

Run:  scripts/bench history [--events 10000] [--export 1000000] [--repeat 30]

On a private PostgreSQL, one séance gets --events events, made by its pure core (registrations,
waiting, unregistrations and promotions among 200 members, as a busy séance has them) and archived
as the relay archives them (one `history` row each, with its node and request id). Then:

- the first page of its history, as the accueil's `history` op reads it (50 rows), --repeat times:
  target p50 <= 50 ms;
- `--at` the time of its last event: every row read and replayed through the pure core
  (monclub.history.replay.state_then, what `monclub history seance ID --at` does): target p50 <=
  200 ms;
- `monclub export events` (the real command, in a process of its own, its output read and
  counted) of --export archived events, and of a tenth of them: time, rate and the command's peak
  RSS (getrusage of that child). Streamed from a server-side cursor, its peak RSS for all of them
  stays within FLAT_GROWTH of its peak for a tenth.

One JSON line is appended to benchmarks/results.jsonl ("benchmark": "history").
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from benchmarks.harness import RESULTS, code_version, machine, own_env, record, sandbox, utc_now
from benchmarks.targets import verdict
from monclub.accueil.desk import history_page
from monclub.db import connect
from monclub.db.outbox import event_payload
from monclub.errors import Refus
from monclub.history.replay import state_then
from monclub.reunions import seance

FLAT_GROWTH = 0.10
AGGREGATE = "seance/longue"
PAGE = 50
MEMBRES = 200
COPY = (
    "COPY history (seq, type, aggregate, at, payload, branch, partition, epoch, node, request_id, membres) FROM STDIN"
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000, help="events of the one séance")
    parser.add_argument("--export", type=int, default=1_000_000, help="archived events exported")
    parser.add_argument("--repeat", type=int, default=30, help="timed reads of the page and of the replay")
    return parser.parse_args(argv)


def busy_seance(count: int, seed: int = 27) -> list:
    """`count` events of one séance as its core decides them: members register, wait, leave, and
    the first waiting is promoted."""
    rng = random.Random(seed)
    events: list = [seance.SeanceCreee("longue", "Longue", 50, 50, 800)]
    state = seance.appliquer(None, events[0])
    while len(events) < count:
        membre = rng.randint(1, MEMBRES)
        present = membre in state.attente or membre in seance.liste_inscrits(state)
        try:
            made = seance.desinscrire(state, membre) if present else seance.inscrire(state, membre)
        except Refus:  # the waiting list is full
            continue
        state = seance.appliquer_tous(state, made)
        events += made
    return events[:count]


def archive_seance(conn, events: list) -> datetime:
    """The séance's events as archived rows, a millisecond apart, ending now; its last event's time."""
    start = datetime.now(UTC) - timedelta(milliseconds=len(events) + 1000)
    with conn.cursor() as cursor, conn.transaction(), cursor.copy(COPY) as copy:
        for seq, event in enumerate(events, start=1):
            kind, payload = event_payload(event)
            at = start + timedelta(milliseconds=seq)
            membres = [payload["membre"]] if "membre" in payload else []
            row = (seq, kind, AGGREGATE, at, json.dumps(payload), "reunions", 0, 1, "bench", f"r{seq}", membres)
            copy.write_row(row)
    return at


def archive_many(conn, first: int, count: int) -> None:
    """`count` more archived events from seq `first`, over 1,000 séances, made by the server."""
    conn.execute(
        "INSERT INTO history (seq, type, aggregate, at, payload, branch, partition, epoch, node, request_id, membres)"
        " SELECT n, 'membre_inscrit', 'seance/s' || (n %% 1000), now() - interval '1 hour',"
        " jsonb_build_object('seance', 's' || (n %% 1000), 'membre', n %% 5000 + 1), 'reunions', n %% 24, 1,"
        " 'bench', md5(n::text), ARRAY[n %% 5000 + 1] FROM generate_series(%s::bigint, %s) n",
        (first, first + count - 1),
    )
    conn.execute("UPDATE outbox_sequence SET seq = %s", (first + count - 1,))
    conn.execute("UPDATE history_position SET seq = %s", (first + count - 1,))
    conn.execute("VACUUM ANALYZE history")


def timed(action, repeat: int) -> dict:
    """The first call's time and the p50 and max of `repeat` more, in ms."""
    times = []
    for _ in range(repeat + 1):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    rest = times[1:]
    return {"first_ms": round(times[0], 2), "p50_ms": round(statistics.median(rest), 2), "max_ms": round(max(rest), 2)}


def export(cluster, since: int) -> dict:
    """`monclub export events --since SEQ` in a process of its own: lines, seconds, peak RSS."""
    env = {
        **own_env(),
        "MONCLUB_DATABASE_URL": cluster.conninfo(),
    }
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "monclub", "export", "events", "--since", str(since)], env=env, stdout=subprocess.PIPE
    )
    assert process.stdout is not None
    lines = sum(1 for _ in process.stdout)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"monclub export events exited {process.returncode}")
    rate = round(lines / seconds)
    return {"events": lines, "seconds": round(seconds, 2), "per_second": rate, "peak_rss_kib": usage.ru_maxrss}


def run(args) -> dict:
    with sandbox() as (_base, _home, cluster):
        with connect(cluster.owner_conninfo(), autocommit=True) as owner:
            print(f"archiving {args.events} events of one séance...", flush=True)
            last = archive_seance(owner, busy_seance(args.events))
            print(f"archiving {args.export - args.events} more events...", flush=True)
            archive_many(owner, args.events + 1, args.export - args.events)
        with connect(cluster.conninfo(), autocommit=True) as conn:
            page = timed(lambda: history_page(conn, AGGREGATE, None, PAGE), args.repeat)
            replayed = timed(lambda: state_then(conn, AGGREGATE, last), args.repeat)
        print("exporting a tenth, then all...", flush=True)
        tenth = export(cluster, args.export - args.export // 10 + 1)
        whole = export(cluster, 1)
        found = machine(cluster.conninfo())
    return {
        "date": utc_now(),
        "benchmark": "history",
        "code": code_version(),
        "machine": found,
        "load": os.getloadavg(),
        "events": args.events,
        "first_page": page,
        "replay_at": replayed,
        "export_tenth": tenth,
        "export": whole,
        "rss_growth": round(whole["peak_rss_kib"] / tenth["peak_rss_kib"] - 1, 4),
    }


def targets(result: dict) -> list[dict]:
    page, replayed, growth = result["first_page"]["p50_ms"], result["replay_at"]["p50_ms"], result["rss_growth"]
    return [
        {"name": f"first page of {result['events']} events, p50", "goal": "<= 50 ms", "value": page,
         "shown": f"{page} ms", "pass": page <= 50},
        {"name": f"--at replay of {result['events']} events, p50", "goal": "<= 200 ms", "value": replayed,
         "shown": f"{replayed} ms", "pass": replayed <= 200},
        {"name": "export's peak RSS, all over a tenth", "goal": f"<= +{FLAT_GROWTH:.0%}", "value": growth,
         "shown": f"{growth:+.1%}", "pass": growth <= FLAT_GROWTH},
    ]  # fmt: skip


def main(argv=None) -> int:
    args = parse_args(argv)
    result = run(args)
    result["targets"] = targets(result)
    record(result)
    print(f"\nload average {result['load'][0]:.2f} during the run")
    for name in ("first_page", "replay_at"):
        print(f"{name}: {result[name]}")
    for name in ("export_tenth", "export"):
        e = result[name]
        print(f"{name}: {e['events']} events in {e['seconds']} s ({e['per_second']}/s), "
              f"peak RSS {e['peak_rss_kib'] / 1024:.1f} MiB")  # fmt: skip
    for target in result["targets"]:
        print(f"{target['name']}: {target['shown']}, {target['goal']}: {verdict(target)}")
    print(f"appended to {RESULTS}")
    return 0 if all(target["pass"] for target in result["targets"]) else 1


if __name__ == "__main__":
    sys.exit(main())
