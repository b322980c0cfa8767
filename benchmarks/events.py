"""The events phase of the performance benchmark: commit-to-listener latency at a steady rate,
catch-up rate of a listener (run by benchmarks/perf.py: `scripts/bench events` runs it alone).

On the benchmark's private PostgreSQL, the whole tree runs (`python -m monclub start`: supervisord
with bus, relay, reunions and its 4 shards, paiements, notifications), with MONCLUB_HOME a short
temporary directory and no MONCLUB_CONFIG; `monclub stop` at the end of the phase.

Latency: a paid séance (tarif 500) and --ops members are inserted with SQL, then one Client
registers them at --rate per second, each request sent at its scheduled time (start + i / rate).
Once Paiements has reached the outbox's latest seq, the latency of each registration is
paiements.cree_le - events.at (joined on event_seq = seq). Both are transaction timestamps
(now()): it runs from the start of the shard's transaction to the start of the Paiements
transaction that applied the event, so it includes the shard transaction's own duration (its
commit too) and leaves out the Paiements commit.

Catch-up: Paiements is stopped through supervisord's XML-RPC, --backlog members and a paid séance
are inserted with SQL, and --backlog `membre_inscrit` events are appended with append_events in
transactions of --batch records. Once Notifications (which follows them live) has caught up, so
that it does not compete for the CPUs, Paiements is started again and timed until its position is
the latest seq; its payment count must have grown by exactly --backlog.

CPU per event of each program (benchmarks/cpu.py) in three windows: the paced registrations until
both listeners are done (at --rate, so each process's idle work is in it), the appends until
Notifications is done (relay, bus, a live listener), Paiements' catch-up from its start.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from benchmarks import cpu
from benchmarks.harness import add_membres, own_env, percentile_ms, print_tails, wait_until
from benchmarks.shards import SHARDS
from monclub import config as configuration
from monclub.client.sync import Client
from monclub.db import connect
from monclub.db.outbox import append_events
from monclub.errors import MonclubError
from monclub.postgres.embedded import Cluster
from monclub.supervision.rpc import rpc
from monclub.tree import supervisord as tree

TARIF = 500
PAIEMENTS = "paiements"
CATCH_UP_DEADLINE = 300.0  # seconds for a listener to reach the latest seq
POLL = 0.05  # seconds between two reads of a listener's position
PACING_SLACK = 60.0  # seconds: the paced phase stops issuing requests this long after its planned end


# --- the tree -------------------------------------------------------------------------------


def tree_env(home: Path, cluster: Cluster) -> dict:
    """This process's environment without any MONCLUB_ variable, then the benchmark's own."""
    env = own_env()
    return {
        **env,
        "MONCLUB_HOME": str(home),
        "MONCLUB_DATABASE_URL": cluster.conninfo(),
        "MONCLUB_OWNER_DATABASE_URL": cluster.owner_conninfo(),
        "MONCLUB_SHARDS": str(SHARDS),
    }


def monclub(env: dict, *args: str, timeout: float = 150) -> str:
    """Run `python -m monclub ARGS`; its output, or raise with it."""
    done = subprocess.run(
        [sys.executable, "-m", "monclub", *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise RuntimeError(f"monclub {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return done.stdout


def stop_tree(env: dict) -> None:
    """`monclub stop`; if that fails, SIGTERM the supervisord it leaves behind (by its pid)."""
    pid = tree.supervisord_pid(configuration.load(env))
    try:
        monclub(env, "stop")
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        print(f"warning: {error}", file=sys.stderr)
        if pid is not None and alive(pid):
            os.kill(pid, signal.SIGTERM)
            wait_until(lambda: not alive(pid), 90, f"supervisord (pid {pid}) to exit", 0.2)


def tree_roots(config: configuration.Config) -> cpu.Roots:
    """supervisord and its running programs, each its own process kind by its name; the Réunions
    supervisor's children are the shards."""
    with rpc(config) as proxy:
        roots = {proxy.supervisor.getPID(): ("supervisord", "supervisord")}
        for info in proxy.supervisor.getAllProcessInfo():
            if info["pid"]:
                roots[info["pid"]] = (info["name"], cpu.SHARDS if info["name"] == cpu.SUPERVISOR else info["name"])
    return roots


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


# --- the database ---------------------------------------------------------------------------


def create_paid_seance(conninfo: str, places: int, label: str) -> str:
    seance = f"bench-{label}-{os.urandom(4).hex()}"
    with connect(conninfo, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO seances (id, titre, places, attente_max, tarif) VALUES (%s, %s, %s, 0, %s)",
            (seance, f"benchmark {label}", places, TARIF),
        )
    return seance


def paiements_count(conninfo: str) -> int:
    with connect(conninfo, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM paiements").fetchone()[0]


def wait_caught_up(conninfo: str, listener: str, timeout: float = CATCH_UP_DEADLINE) -> tuple[int, float]:
    """Poll every POLL s until the listener's position reaches the outbox's latest seq; (seq, seconds)."""
    began = time.monotonic()
    with connect(conninfo, autocommit=True) as conn:

        def reached():
            position, latest = conn.execute(
                "SELECT (SELECT seq FROM listener_positions WHERE listener = %s), (SELECT seq FROM outbox_sequence)",
                (listener,),
            ).fetchone()
            return latest if position is not None and position >= latest else None

        seq = wait_until(reached, timeout, f"{listener} to reach the latest seq", POLL)
    return seq, time.monotonic() - began


# --- 1. latency at a steady rate --------------------------------------------------------------


def paced_registrations(config, seance: str, membres: list[int], rate: float) -> dict:
    """Register each member at its scheduled time start + i / rate (late ones go at once)."""
    replies, behind, errors = [], [], Counter()
    stop_at = time.monotonic() + len(membres) / rate + PACING_SLACK
    with Client(config) as client:
        start = time.monotonic()
        for i, membre in enumerate(membres):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            behind.append(max(0.0, -delay))
            if time.monotonic() > stop_at:
                errors["not_sent"] += len(membres) - i
                break
            sent = time.perf_counter()
            try:
                client.inscrire(seance, membre)
                replies.append(time.perf_counter() - sent)
            except MonclubError as error:
                errors[error.code] += 1
        seconds = time.monotonic() - start
    replies.sort()
    return {
        "committed": len(replies),
        "errors": dict(errors),
        "seconds": round(seconds, 3),
        "per_second": round(len(replies) / seconds, 1),
        "behind_max_ms": round(max(behind, default=0) * 1000, 2),
        "reply_p50_ms": percentile_ms(replies, 50),
        "reply_p99_ms": percentile_ms(replies, 99),
    }


def effect_latencies(conninfo: str, seance: str) -> list[float]:
    """paiements.cree_le - events.at of each payment of the séance, in seconds, sorted."""
    with connect(conninfo, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT extract(epoch FROM p.cree_le - e.at)::float8 FROM paiements p JOIN events e ON p.event_seq = e.seq"
            " WHERE p.seance_id = %s ORDER BY 1",
            (seance,),
        ).fetchall()
    return [row[0] for row in rows]


def steady_latency(config, conninfo: str, rate: float, ops: int, meter: cpu.Meter) -> dict:
    """`cpu`: per event (one per registration), from the first request until both listeners have
    applied the last one."""
    seance = create_paid_seance(conninfo, ops, "latency")
    membres = add_membres(conninfo, ops)
    before = meter()
    sent = paced_registrations(config, seance, membres, rate)
    seq, waited = wait_caught_up(conninfo, PAIEMENTS)
    wait_caught_up(conninfo, "notifications")
    spent = cpu.spent(before, meter())
    latencies = effect_latencies(conninfo, seance)
    return {
        "rate": rate,
        "ops": ops,
        **sent,
        "outbox_seq": seq,
        "wait_after_last_s": round(waited, 3),
        "payments": len(latencies),
        "verified": len(latencies) == sent["committed"],
        "p50_ms": percentile_ms(latencies, 50),
        "p99_ms": percentile_ms(latencies, 99),
        "max_ms": round(latencies[-1] * 1000, 2) if latencies else None,
        "cpu": cpu.per_event(spent, sent["committed"], sent["per_second"]),
    }


# --- 2. catch-up of a listener that was down ---------------------------------------------------


def append_backlog(conninfo: str, seance: str, membres: list[int], batch: int) -> float:
    """Append one membre_inscrit per member, `batch` records per transaction; seconds taken."""
    began = time.monotonic()
    with connect(conninfo, autocommit=True) as conn:
        for i in range(0, len(membres), batch):
            records = [
                (
                    "membre_inscrit",
                    f"seance/{seance}",
                    {"seance": seance, "membre": m, "titre": "benchmark backlog", "tarif": TARIF},
                )
                for m in membres[i : i + batch]
            ]
            with conn.transaction():
                append_events(conn, records)
    return time.monotonic() - began


def first_payment_at(conninfo: str, seance: str) -> float:
    """The epoch of the first Paiements transaction that applied the séance's backlog."""
    with connect(conninfo, autocommit=True) as conn:
        return conn.execute(
            "SELECT extract(epoch FROM min(cree_le))::float8 FROM paiements WHERE seance_id = %s", (seance,)
        ).fetchone()[0]


def catch_up(config, conninfo: str, backlog: int, batch: int, meter: cpu.Meter) -> dict:
    """`cpu`: per event of the backlog, from Paiements' start (its start included) to caught up;
    `cpu_burst`: per event too, from the first append until Notifications has applied the last one
    (the relay, the bus and a live listener at the rate of the appends)."""
    with rpc(config) as proxy:
        proxy.supervisor.stopProcess(PAIEMENTS)
    before = paiements_count(conninfo)
    membres = add_membres(conninfo, backlog)
    seance = create_paid_seance(conninfo, backlog, "backlog")
    appending = meter()
    appended = append_backlog(conninfo, seance, membres, batch)
    _, notifications_lag = wait_caught_up(conninfo, "notifications")
    started_at, sampled = time.time(), meter()
    with rpc(config) as proxy:
        proxy.supervisor.startProcess(PAIEMENTS)
    seq, seconds = wait_caught_up(conninfo, PAIEMENTS)
    spent = cpu.spent(sampled, meter())
    burst = cpu.per_event(cpu.spent(appending, sampled), backlog, backlog / (appended + notifications_lag))
    added = paiements_count(conninfo) - before
    startup = first_payment_at(conninfo, seance) - started_at
    return {
        "backlog": backlog,
        "batch": batch,
        "append_s": round(appended, 3),
        "append_per_second": round(backlog / appended, 1),
        "notifications_lag_s": round(notifications_lag, 3),
        "outbox_seq": seq,
        "seconds": round(seconds, 3),
        "per_second": round(backlog / seconds, 1),
        "start_to_first_batch_s": round(startup, 3),
        "per_second_after_start": round(backlog / (seconds - startup), 1) if seconds > startup else None,
        "payments_added": added,
        "verified": added == backlog,
        "cpu": cpu.per_event(spent, backlog, backlog / seconds),
        "cpu_burst": burst,
    }


# --- the phase and its report ---------------------------------------------------------------


def measure(options, base: Path, home: Path, cluster: Cluster) -> dict:
    """Start the tree, measure latency then catch-up, stop the tree."""
    env = tree_env(home, cluster)
    conninfo = cluster.owner_conninfo()
    try:
        print("events: starting the tree (monclub start)...", flush=True)
        monclub(env, "start")
        config = configuration.load(env)
        with contextlib.closing(cpu.Meter(cluster, lambda: tree_roots(config))) as meter:
            print(f"events: latency, {options.events_ops} registrations at {options.rate:g}/s...", flush=True)
            latency = steady_latency(config, conninfo, options.rate, options.events_ops, meter)
            print(f"events: catch-up, {options.backlog:,} events while Paiements is stopped...", flush=True)
            backlog = catch_up(config, conninfo, options.backlog, options.batch, meter)
        return {"latency": latency, "catch_up": backlog, "verified": latency["verified"] and backlog["verified"]}
    except BaseException:
        print_tails([*sorted((home / "log").glob("*.log")), base / "pg" / "server.log"])
        raise
    finally:
        stop_tree(env)


def report(events: dict) -> None:
    lat, cat = events["latency"], events["catch_up"]
    print(f"\nevents 1. commit-to-listener-effect (Paiements), {lat['ops']} registrations paced at {lat['rate']:g}/s")
    print(
        f"{'committed':>9} {'errors':>6} {'reg/s':>7} {'behind max ms':>13} {'reply p50':>9} {'reply p99':>9} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'payments':>8}"
    )
    print(
        f"{lat['committed']:>9} {sum(lat['errors'].values()):>6} {lat['per_second']:>7.1f} "
        f"{lat['behind_max_ms']:>13} {lat['reply_p50_ms'] or '-':>9} {lat['reply_p99_ms'] or '-':>9} "
        f"{lat['p50_ms'] or '-':>8} {lat['p99_ms'] or '-':>8} {lat['max_ms'] or '-':>8} {lat['payments']:>8}"
    )
    print(
        "  latency = paiements.cree_le - events.at, two transaction timestamps (now()): from the start of the\n"
        "  shard's transaction to the start of the Paiements transaction that applied the event. It is\n"
        "  commit-to-effect plus the shard transaction's own duration (its commit included), without the\n"
        "  Paiements commit. reply = the client's request round trip."
    )
    print(f"\nevents 2. catch-up of Paiements after {cat['backlog']:,} events appended while it was stopped")
    print(
        f"{'append s':>8} {'append ev/s':>11} {'notif lag s':>11} {'to 1st batch s':>14} {'caught up s':>11} "
        f"{'events/s':>9} {'ev/s after start':>16} {'payments +':>10}"
    )
    print(
        f"{cat['append_s']:>8.2f} {cat['append_per_second']:>11.1f} {cat['notifications_lag_s']:>11.2f} "
        f"{cat['start_to_first_batch_s']:>14.2f} {cat['seconds']:>11.2f} {cat['per_second']:>9.1f} "
        f"{cat['per_second_after_start'] or '-':>16} {cat['payments_added']:>10,}"
    )
    print(
        "  caught up s: from startProcess to position = latest seq (polled every 50 ms), process start\n"
        "  included; to 1st batch s: from startProcess to the start of its first transaction; notif lag s:\n"
        "  from the last append until Notifications (following live) had caught up, awaited before the start."
    )
    for name, found in ((f"paced at {lat['rate']:g}/s", lat["cpu"]), ("backlog appended", cat["cpu_burst"])):
        print(f"  CPU µs per event, {name}: {cpu.event_line(found)}")
    print(f"  CPU µs per event, catch-up of Paiements: {cpu.event_line(cat['cpu'])}")
    for name, phase in (("latency", lat), ("catch-up", cat)):
        if not phase["verified"]:
            print(f"\nVERIFICATION FAILED ({name}): payments do not match the registrations", file=sys.stderr)
