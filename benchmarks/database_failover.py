"""Failover of the loopback demo's primary under a small steady registration load through
MonClub (scripts/bench database, benchmarks/database.py).

The load: a few clients (monclub.client.sync.Client, which resends the same request id until its
deadline, as every MonClub client does), each registering a fresh member on a séance of its own,
then pausing PACE seconds; every call's send and answer times are kept. A kill:

- postgres: kill -9 of the primary's postmaster; its Patroni releases the leader key, the
  synchronous standby is promoted, and Patroni starts the old one again as a standby;
- member: kill -9 of every process of the primary's host (its etcd, Patroni and PostgreSQL):
  nobody releases the key, which runs out after the ttl; then the member is started again
  (Demo.revive) and must rejoin before the next kill.

Per kill: from the kill to another primary (Patroni's /primary, polled every POLL seconds), to that
primary having a synchronous standby (its pg_stat_replication: in strict synchronous mode its
commits wait until then), and to the next committed registration (the first one answered after that
primary was seen: a commit answered in the killed postmaster's last milliseconds is counted apart,
`late_commits`); the requests that waited (in flight across the outage: sent before that commit,
answered after the kill) and the longest wait. Between kills: the cluster back to three running
members with a synchronous standby, and registrations flowing again. At the end, every acknowledged
registration must be in the new primary's data.
"""

import signal
import threading
import time
from dataclasses import dataclass, field
from statistics import median
from typing import NamedTuple

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from benchmarks.harness import wait_until
from monclub.client.sync import Client
from monclub.db import connect, hosts, scalar, servers
from monclub.errors import MonclubError
from monclub.postgres.ha import host
from monclub.postgres.ha.processes import Demo

PACE = 0.05  # seconds between two registrations of one client
POLL = 0.1  # seconds between two reads of Patroni's /primary
DEADLINE = 90.0  # a client's deadline for one call: longer than a whole host's failover
STEADY = 20  # registrations answered after a rejoin before the next kill
REJOIN_SECONDS = 180.0
KINDS = ("postgres", "member")


class Call(NamedTuple):
    sent: float
    answered: float
    code: str  # the answer's statut, or the error's code
    seance: str  # one per client


@dataclass
class Calls:
    """Every call of the load, appended under a lock."""

    done: list[Call] = field(default_factory=list)
    acknowledged: list[tuple[str, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, sent: float, seance: str, membre: int, code: str) -> None:
        with self.lock:
            self.done.append(Call(sent, time.monotonic(), code, seance))
            if code == "inscrit":
                self.acknowledged.append((seance, membre))

    def committed_after(self, moment: float) -> float | None:
        with self.lock:
            answers = (call.answered for call in self.done if call.code == "inscrit" and call.answered >= moment)
            return min(answers, default=None)

    def count(self) -> int:
        with self.lock:
            return len(self.done)

    def sent_after(self, moment: float) -> set[str]:
        """The clients (their séances) that have had an answer to a call sent after `moment`."""
        with self.lock:
            return {call.seance for call in self.done if call.sent > moment}

    def since(self, moment: float) -> list[Call]:
        with self.lock:
            return [call for call in self.done if call.answered >= moment]


class SteadyLoad:
    def __init__(self, config, seances: list[str], membres: list[int]):
        self.config, self.seances, self.membres = config, seances, membres
        self.calls = Calls()
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=self._work, args=(seance, membres[i :: len(seances)]), daemon=True)
            for i, seance in enumerate(seances)
        ]

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(DEADLINE + 10)

    def _work(self, seance: str, membres: list[int]) -> None:
        with Client(self.config, deadline=DEADLINE) as client:
            for membre in membres:
                if self.stop.is_set():
                    return
                sent = time.monotonic()
                try:
                    code = client.inscrire(seance, membre)["statut"]
                except MonclubError as error:
                    code = error.code
                self.calls.record(sent, seance, membre, code)
                time.sleep(PACE)


def synchronous(conninfo: str) -> bool:
    """The server has a standby its commits wait for (strict synchronous mode: until then, every
    commit on a new primary waits)."""
    try:
        with connect(conninfo, autocommit=True, connect_timeout=2) as conn:
            sql = "SELECT count(*) FROM pg_stat_replication WHERE sync_state = ANY(%s)"
            return bool(scalar(conn, sql, (list(servers.SYNCHRONOUS),)))
    except psycopg.Error:
        return False


def kill(demo: Demo, load: SteadyLoad, owner: str, kind: str) -> dict:
    """One kill of the primary (`kind`), timed; returns once the cluster has settled again.
    `owner`: the demo's owner URL (Patroni's superuser), which may read pg_stat_replication."""
    wait_until(demo.settled, REJOIN_SECONDS, "the demo to settle (three members, a synchronous standby)", 0.5)
    steady = load.calls.count()
    wait_until(lambda: load.calls.count() >= steady + STEADY, 60, "registrations to flow", 0.1)
    before = wait_until(demo.primary, 60, "a primary", POLL)
    pids = host.processes(before.home, whole_host=kind == "member")
    killed = time.monotonic()
    host.signal_all(pids, signal.SIGKILL)
    after = wait_until(lambda: (p := demo.primary()) not in (None, before) and p, 120, "another primary", POLL)
    elected = time.monotonic()
    alone = make_conninfo("", **hosts.alone(conninfo_to_dict(owner), after.index))
    wait_until(lambda: synchronous(alone), 120, "a synchronous standby of the new primary", 0.05)
    confirmed = time.monotonic()
    committed = wait_until(lambda: load.calls.committed_after(elected), 120, "a registration committed", POLL)
    if kind == "member":
        demo.revive(before)
    everyone = set(load.seances)
    wait_until(lambda: load.calls.sent_after(committed) == everyone, DEADLINE, "every client to move on", POLL)
    late = [call for call in load.calls.since(killed) if call.code == "inscrit" and call.answered < elected]
    waited = [call for call in load.calls.since(killed) if call.sent < committed and call not in late]
    return {
        "kind": kind,
        "from": before.name,
        "to": after.name,
        "primary_seconds": round(elected - killed, 2),
        "synchronous_seconds": round(confirmed - killed, 2),
        "commit_seconds": round(committed - killed, 2),
        "waited": len(waited),
        "longest_wait_seconds": round(max((call.answered - call.sent for call in waited), default=0.0), 2),
        "failed": sorted({call.code for call in waited if call.code != "inscrit"}),
        "late_commits": len(late),
    }


def summary(rows: list[dict]) -> dict:
    """Per kind: how many kills, the median and max from the kill to the next committed
    registration, the requests that waited."""
    found = {}
    for kind in KINDS:
        mine = [row for row in rows if row["kind"] == kind]
        if mine:
            seconds = [row["commit_seconds"] for row in mine]
            found[kind] = {
                "kills": len(mine),
                "commit_median_seconds": round(median(seconds), 2),
                "commit_max_seconds": max(seconds),
                "primary_median_seconds": round(median(row["primary_seconds"] for row in mine), 2),
                "synchronous_median_seconds": round(median(row["synchronous_seconds"] for row in mine), 2),
                "waited": sum(row["waited"] for row in mine),
                "longest_wait_seconds": max(row["longest_wait_seconds"] for row in mine),
            }
    return found


def lost(conninfo: str, calls: Calls) -> int:
    """Acknowledged registrations missing from the primary's data (must be 0)."""
    with connect(conninfo, autocommit=True) as conn:
        present = set(conn.execute("SELECT seance_id, membre_id FROM inscriptions WHERE statut = 'inscrit'").fetchall())
    return sum(pair not in present for pair in calls.acknowledged)


def measure(demo: Demo, config, owner: str, seances: list[str], membres: list[int], kills: int) -> dict:
    """`kills` kills of each kind, alternating, under the steady load; the rows and their summary."""
    rows = []
    with SteadyLoad(config, seances, membres) as load:
        for k in range(kills * len(KINDS)):
            kind = KINDS[k % len(KINDS)]
            print(f"failover: kill {k + 1} of {kills * len(KINDS)} ({kind})...", flush=True)
            rows.append(kill(demo, load, owner, kind))
            print(f"  {rows[-1]}", flush=True)
        wait_until(demo.settled, REJOIN_SECONDS, "the demo to settle after the last kill", 0.5)
    return {
        "pace_seconds": PACE,
        "clients": len(seances),
        "kills": rows,
        "summary": summary(rows),
        "acknowledged": len(load.calls.acknowledged),
        "lost": lost(config.conninfo(), load.calls),
    }
