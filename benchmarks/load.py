"""The load generator: C closed-loop clients registering fresh members, MonClub or classic.

Choice: the clients are spread over several load-generator processes (multiprocessing, `spawn`),
so that one interpreter's GIL does not cap the client side; each process runs its ZeroMQ clients
in one thread around a poller (benchmarks/loop.py), its SQL and HTTP clients as threads. Every
client opens its connection first; then all start at once (a barrier across the processes), each
sends one request, waits for its reply, sends the next, until its members are used up or the
phase's time budget has passed. Throughput is committed registrations divided by
the time from the common start to the last reply.

- monclub: a lean DEALER client (benchmarks/dealer.py) to the shard that owns the séance.
- classic: the same registration as one PostgreSQL transaction by a direct psycopg client,
  on the same schema and cluster, see `inscrire_classic`.
- classic_outbox: the fair second reference, the classic transaction plus the outbox event MonClub
  writes, in the same transaction (`inscrire_classic` with `event`).
- commit: one INSERT of one inscription row per commit (autocommit): PostgreSQL's one-row commit
  ceiling for the same generator processes.
- ping: the shard's no-op `ping`, to the shard a séance picked as for a registration routes to:
  the generator's own ceiling over ZeroMQ (the shard's loop included).
- http, noop: a raw HTTP/1.1 client to the web program (benchmarks/rawhttp.py), registering, or
  asking its no-op endpoint (the generator's own ceiling).
"""

import multiprocessing
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from benchmarks import cpu, loop, statements
from benchmarks.harness import percentile_ms
from benchmarks.rawhttp import HttpRegistrations, NoOp

REPLY_TIMEOUT = 30.0  # seconds: a client that waits longer for one reply gives up (counted as "timeout")


@dataclass(frozen=True)
class Target:
    kind: str  # a key of _CLIENTS: monclub, classic, classic_outbox, commit, ping, http, noop
    endpoints: tuple[str, ...] = ()  # monclub, ping: the shards' endpoints, by index
    partitions: int = 1  # monclub, ping: the partition count
    conninfo: str = ""  # classic, classic_outbox, commit
    url: str = ""  # http, noop: the web program


_LOCK = "SELECT places, inscrits, annulee FROM seances WHERE id = %s FOR UPDATE"
_LOCK_NAMED = "SELECT places, inscrits, annulee, titre, tarif FROM seances WHERE id = %s FOR UPDATE"
_INSERT = "INSERT INTO inscriptions (seance_id, membre_id, statut) VALUES (%s, %s, 'inscrit')"


def inscrire_classic(conn: psycopg.Connection, seance: str, membre: int, event: bool = False) -> str | None:
    """The classic registration, a typical one: lock the séance row, check, insert, commit.
    The statement trigger compter_inscriptions (migration 004) keeps seances.inscrits up to date, as it does
    for MonClub's writes. None when committed, else the refusal's code (nothing written).
    `event`: also append the outbox event MonClub writes for it, last before COMMIT as MonClub
    does (the locking SELECT then also reads the séance's titre and tarif, which the event names)."""
    with conn.transaction():
        row = conn.execute(_LOCK_NAMED if event else _LOCK, (seance,)).fetchone()
        if row is None:
            return "seance_inconnue"
        places, inscrits, annulee = row[:3]
        if annulee:
            return "seance_annulee"
        if conn.execute(
            "SELECT 1 FROM inscriptions WHERE seance_id = %s AND membre_id = %s", (seance, membre)
        ).fetchone():
            return "deja_inscrit"
        if inscrits >= places:
            return "seance_complete"
        conn.execute(_INSERT, (seance, membre))
        if event:
            conn.execute(*statements.one_event(statements.seance_named(seance, row[3], row[4]), membre))
    return None


class _ClassicClient:
    event = False

    def __init__(self, target: Target):
        self.conn = psycopg.connect(target.conninfo, autocommit=True, connect_timeout=10)

    def inscrire(self, seance: str, membre: int) -> str | None:
        return inscrire_classic(self.conn, seance, membre, self.event)

    def close(self) -> None:
        self.conn.close()


class _ClassicOutboxClient(_ClassicClient):
    event = True


class _CommitClient(_ClassicClient):
    def inscrire(self, seance: str, membre: int) -> str | None:
        self.conn.execute(_INSERT, (seance, membre))
        return None


_CLIENTS = {
    "classic": _ClassicClient,
    "classic_outbox": _ClassicOutboxClient,
    "commit": _CommitClient,
    "http": lambda target: HttpRegistrations(target.url),
    "noop": lambda target: NoOp(target.url),
}


def _client(
    target: Target,
    seances: list[str],
    membres: list[int],
    seed: int,
    ready: threading.Barrier,
    go: threading.Event,
    stop_at: list[float],
    out: list,
) -> None:
    client = _CLIENTS[target.kind](target)
    rng = random.Random(seed)
    latencies, errors, last = [], Counter(), 0.0
    try:
        ready.wait(timeout=60)
        go.wait(timeout=120)
        for membre in membres:
            if time.monotonic() > stop_at[0]:
                break
            seance = seances[0] if len(seances) == 1 else rng.choice(seances)
            began = time.monotonic()
            code = client.inscrire(seance, membre)
            ended = time.monotonic()
            if code is None:
                latencies.append(ended - began)
                last = ended
            else:
                errors[code] += 1
                if code == "timeout":
                    break
    finally:
        out.append({"latencies": latencies, "errors": errors, "ended": last})
        client.close()


def _generator(
    target: Target,
    seances: list[str],
    slices: list[list[int]],
    seed: int,
    budget: float,
    start: multiprocessing.Barrier,
    results: multiprocessing.Queue,
) -> None:
    """One load-generator process: its clients (ZeroMQ ones in one thread, benchmarks/loop.py;
    the others as threads); puts their samples on `results`, and its own CPU time from the start
    to the last client's end (all its threads: it measures itself, since it has exited when the
    phase's end is sampled)."""
    if target.kind in loop.KINDS:
        clients = loop.Clients(target.kind, list(target.endpoints), target.partitions, seances, slices, seed)
        start.wait(timeout=60)
        began = time.process_time_ns()
        out = clients.run(budget, REPLY_TIMEOUT)
    else:
        out = []
        ready, go, stop_at = threading.Barrier(len(slices) + 1), threading.Event(), [0.0]
        threads = [
            threading.Thread(
                target=_client, daemon=True, args=(target, seances, membres, seed * 1000 + i, ready, go, stop_at, out)
            )
            for i, membres in enumerate(slices)
        ]
        for thread in threads:
            thread.start()
        ready.wait(timeout=60)
        start.wait(timeout=60)
        began = time.process_time_ns()
        stop_at[0] = time.monotonic() + budget
        go.set()
        for thread in threads:
            thread.join(timeout=budget + REPLY_TIMEOUT + 10)
    results.put({"clients": out, "cpu_ns": time.process_time_ns() - began})


def run_load(
    target: Target,
    seances: list[str],
    membres: list[int],
    clients: int,
    generators: int,
    budget: float,
    meter: Callable[[], cpu.Snapshot] | None = None,
) -> dict:
    """C clients over min(C, generators) processes; client i registers membres[i::C]. With a
    `meter`, sampled once every client has connected and again after the last one's end, the
    result's `cpu` gives the CPU per committed registration of each process kind, the generator's
    included (benchmarks/cpu.py)."""
    processes = min(clients, generators)
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(processes + 1), context.Queue()
    slices = [membres[i::clients] for i in range(clients)]
    workers = [
        context.Process(
            target=_generator, daemon=True, args=(target, seances, slices[p::processes], p + 1, budget, start, results)
        )
        for p in range(processes)
    ]
    for worker in workers:
        worker.start()
    try:
        start.wait(timeout=90)
        began = time.monotonic()
        before = meter() if meter else {}
        done = [results.get(timeout=budget + REPLY_TIMEOUT + 60) for _ in workers]
        after = meter() if meter else {}
    finally:
        for worker in workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.kill()
    summary = summarize([part for one in done for part in one["clients"]], began, clients, processes, len(membres))
    if meter:
        spent = {**cpu.spent(before, after), cpu.GENERATOR: sum(one["cpu_ns"] for one in done)}
        idle = (cpu.SUPERVISOR, cpu.SHARDS) if target.conninfo else ()  # a direct SQL client: shards idle
        summary["cpu"] = cpu.figures(spent, summary["committed"], summary["per_second"], cpu.cores(), idle)
    return summary


def summarize(parts: list[dict], began: float, clients: int, processes: int, ops: int) -> dict:
    latencies = sorted(x for part in parts for x in part["latencies"])
    errors = Counter()
    for part in parts:
        errors.update(part["errors"])
    ended = max((part["ended"] for part in parts), default=began)
    seconds = max(ended - began, 1e-9)
    return {
        "clients": clients,
        "generators": processes,
        "ops": ops,
        "committed": len(latencies),
        "errors": dict(errors),
        "seconds": round(seconds, 3),
        "per_second": round(len(latencies) / seconds, 1) if latencies else 0.0,
        "p50_ms": percentile_ms(latencies, 50),
        "p99_ms": percentile_ms(latencies, 99),
    }
