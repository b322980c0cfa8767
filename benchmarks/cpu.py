"""CPU time per command, per process kind, sampled at a phase's start and end (issue 28), and the
model ceiling it gives: the commands per second this machine's cores could carry at that cost.

The source is each process's CPU clock: clock_gettime on the clock id that clock_getcpuclockid(pid)
returns (Python does not expose it; the kernel's encoding is ((~pid) << 3) | CPUCLOCK_SCHED), user
+ system in nanoseconds, summed over all the process's threads, those that already exited included.
Checked on this machine kind (Linux 6.x, SC_CLK_TCK 100) against the other two candidates:
/proc/PID/stat's utime + stime count 10 ms ticks, coarse for the 0.1 s that a quick run at 64
clients lasts; /proc/PID/schedstat's first field is in ns but is the main thread's alone (it misses
a shard's libzmq I/O thread, a load generator's client threads), and summing /proc/PID/task/*/
schedstat misses the threads that exited.

Which processes: those under given roots (the Réunions supervisor, PostgreSQL's postmaster, the
tree's programs), each root with its own kind and its children's kind (found by their PPID in
/proc), some named apart (PostgreSQL's processes by pg_stat_activity's backend_type). A process
born during the phase counts from zero. One that exited during it was reaped by its parent, whose
cutime + cstime (/proc/PID/stat, ticks) then hold its whole life: its CPU in the phase is the
parent's growth in them less what the process had at the start, counted under the parent's
children's kind. The classic's connections are such: their backends exit as the run ends. A root
that exits during a phase is lost (none does in the benchmark's phases).
"""

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from monclub.db import connect
from monclub.postgres.embedded import Cluster

CPUCLOCK_SCHED = 2  # the kernel's per-process clock of nanoseconds on CPU (posix-cpu-timers)
TICK_NS = 1_000_000_000 // os.sysconf("SC_CLK_TCK")
STABLE_TRIES = 5  # snapshots taken again when a parent reaped a child while one was being read
# The kinds of the throughput phases; the events phase adds the tree's programs by their names.
SHARDS, SUPERVISOR, GENERATOR = "shards", "reunions", "generator"
PG_BACKENDS, PG_SERVER = "pg_backends", "pg_server"  # client backends; the postmaster and the rest


@dataclass(frozen=True)
class Stat:
    """The fields of /proc/PID/stat the accounting needs."""

    pid: int
    comm: str
    state: str
    ppid: int
    cpu_ticks: int  # utime + stime
    children_ticks: int  # cutime + cstime: the reaped children's, their own reaped ones included
    started: int  # ticks after boot: with the pid, names one process even if the pid is reused


def parse_stat(text: str) -> Stat:
    """One /proc/PID/stat line (pure). The command name may hold spaces and parentheses: it ends at
    the line's last ')'."""
    head, _, tail = text.rpartition(")")
    pid, _, comm = head.partition(" (")
    fields = tail.split()  # fields[0] is the state, field 3 of proc(5)
    return Stat(
        pid=int(pid),
        comm=comm,
        state=fields[0],
        ppid=int(fields[1]),
        cpu_ticks=int(fields[11]) + int(fields[12]),
        children_ticks=int(fields[13]) + int(fields[14]),
        started=int(fields[19]),
    )


def read_stat(pid: int) -> Stat | None:
    try:
        return parse_stat(Path(f"/proc/{pid}/stat").read_text())
    except (OSError, ValueError, IndexError):  # gone, or reaped between the open and the read
        return None


def scan() -> dict[int, Stat]:
    """Every process of the machine, by pid."""
    found = (read_stat(int(name)) for name in os.listdir("/proc") if name.isdigit())
    return {stat.pid: stat for stat in found if stat is not None}


def cpu_ns(pid: int) -> int | None:
    """The process's CPU clock, in ns (None once it has been reaped)."""
    try:
        return time.clock_gettime_ns((~pid << 3) | CPUCLOCK_SCHED)
    except OSError:
        return None


@dataclass(frozen=True)
class Place:
    """Where a process's CPU is counted."""

    kind: str
    children: str  # the kind of its children, and of the CPU of those it reaped
    bucket: str | None  # where its own CPU lands once its parent reaps it (None: untracked parent)


Roots = dict[int, tuple[str, str]]  # pid -> (its kind, its children's kind)


def assign(stats: dict[int, Stat], roots: Roots, named: dict[int, str | None]) -> dict[int, Place]:
    """The roots and their descendants, each with its place (pure). A root keeps its kinds; a pid
    in `named` takes that kind (None: not counted, nor its descendants); any other process takes
    its parent's children's kind and passes it on to its own children."""
    children: dict[int, list[int]] = {}
    for stat in stats.values():
        children.setdefault(stat.ppid, []).append(stat.pid)
    places: dict[int, Place] = {}

    def place(pid: int, parent: Place | None) -> None:
        if pid in roots:
            kind, below = roots[pid]
        else:
            kind = named.get(pid, parent.children) if parent else None
            below = kind
        if kind is None or pid in places:
            return
        places[pid] = Place(kind, below, parent.children if parent else None)
        for child in children.get(pid, []):
            place(child, places[pid])

    for root in roots:
        if root in stats and stats[root].ppid not in roots:
            place(root, None)
    return places


@dataclass(frozen=True)
class Proc:
    place: Place
    ns: int  # its CPU so far
    reaped_ns: int  # its reaped children's CPU so far


Snapshot = dict[tuple[int, int], Proc]  # (pid, started) -> what it had spent


def snapshot(roots: Roots, named: dict[int, str | None]) -> Snapshot:
    """The CPU spent so far by the processes under `roots`. Taken again when a tracked process
    reaped a child or vanished between the scan and the last read (the child's CPU would then be
    counted nowhere); after STABLE_TRIES the last one stands."""
    for _ in range(STABLE_TRIES):
        stats = scan()
        places = assign(stats, roots, named)
        taken = {pid: cpu_ns(pid) for pid in places}
        again = {pid: read_stat(pid) for pid in places}
        found = {
            (pid, stats[pid].started): Proc(place, ns, stats[pid].children_ticks * TICK_NS)
            for pid, place in places.items()
            if (ns := taken[pid]) is not None
        }
        if all(stat and stat.children_ticks == stats[pid].children_ticks for pid, stat in again.items()):
            break
    return found


def spent(before: Snapshot, after: Snapshot) -> dict[str, int]:
    """ns of CPU by kind between two snapshots (pure): each live process's growth, a new one's
    whole life, and the growth of each process's reaped children's CPU less what those that are
    gone had at the start."""
    out: dict[str, int] = {}

    def add(kind: str, ns: int) -> None:
        out[kind] = out.get(kind, 0) + ns

    for key, proc in after.items():
        was = before.get(key)
        add(proc.place.kind, proc.ns - (was.ns if was else 0))
        add(proc.place.children, proc.reaped_ns - (was.reaped_ns if was else 0))
    for key, was in before.items():
        if key not in after and was.place.bucket:
            add(was.place.bucket, -(was.ns + was.reaped_ns))
    return out


def cores() -> int:
    """The CPUs this process may run on (its affinity set), which the processes measured share."""
    return len(os.sched_getaffinity(0))


def figures(ns: dict[str, int], commands: int, per_second: float, cores: int, idle: tuple[str, ...] = ()) -> dict:
    """µs of CPU per command by kind, their total, and the model ceiling (pure): cores × 10⁶ / total
    µs commands per second, and `per_second` as a share of it. The `idle` kinds are shown but left
    out of the total: processes that run beside the contender without serving it (the shards
    during the classic's runs)."""
    us = {kind: round(spent / 1000 / commands, 1) for kind, spent in sorted(ns.items())} if commands else {}
    total = sum(spent for kind, spent in ns.items() if kind not in idle) / 1000 / commands if commands else 0.0
    ceiling = cores * 1e6 / total if total > 0 else None
    return {
        "commands": commands,
        "cpu_ms": {kind: round(spent / 1e6, 1) for kind, spent in sorted(ns.items())},
        "us": us,
        "idle": list(idle),
        "total_us": round(total, 1),
        "cores": cores,
        "ceiling_per_second": round(ceiling) if ceiling else None,
        "of_ceiling": round(per_second / ceiling, 3) if ceiling else None,
    }


def postmaster(cluster: Cluster) -> int:
    """The postmaster's pid: the first line of the data directory's postmaster.pid."""
    return int((cluster.data / "postmaster.pid").read_text().split()[0])


class Meter:
    """Samples a phase's processes: those under `roots()` (asked at each sample, so that a program
    its supervisor restarted is found) and PostgreSQL's, its client backends told from its other
    processes by pg_stat_activity, read on a session of the meter's own that is not counted."""

    def __init__(self, cluster: Cluster, roots: Callable[[], Roots]):
        self.roots = roots
        self.postmaster = postmaster(cluster)
        self.conn = connect(cluster.owner_conninfo(), autocommit=True)
        self.own = self.conn.info.backend_pid

    def __call__(self) -> Snapshot:
        rows = self.conn.execute("SELECT pid, backend_type FROM pg_stat_activity").fetchall()
        named: dict[int, str | None] = {
            pid: PG_BACKENDS if backend_type == "client backend" else PG_SERVER for pid, backend_type in rows
        }
        return snapshot({**self.roots(), self.postmaster: (PG_SERVER, PG_BACKENDS)}, {**named, self.own: None})

    def close(self) -> None:
        self.conn.close()


EVENT_PATH = ("relay", "bus", "paiements", "notifications")  # the events phase's relay, bus and listeners


def per_event(ns: dict[str, int], events: int, per_second: float) -> dict:
    """figures() per event, and `event_path_us`: the relay's, the bus's and the listeners' together."""
    found = figures(ns, events, per_second, cores())
    return {**found, "event_path_us": round(sum(found["us"].get(kind, 0.0) for kind in EVENT_PATH), 1)}


def event_line(found: dict) -> str:
    """Relay + bus + listeners, then every kind by decreasing cost, then the total (pure)."""
    kinds = sorted(found["us"].items(), key=lambda item: -item[1])
    return (
        f"relay + bus + listeners {found['event_path_us']:.1f} ("
        + ", ".join(f"{kind} {us:.1f}" for kind, us in kinds)
        + f"; total {found['total_us']:.1f})"
    )


CONTENDERS = (("monclub", "MonClub"), ("classic", "classic"), ("classic_outbox", "+outbox"))


def _us(found: dict, *kinds: str) -> str:
    """The kinds' µs together, in parentheses when they are idle (not in the total)."""
    shown = f"{sum(found['us'].get(kind, 0.0) for kind in kinds):.1f}"
    return f"({shown})" if set(kinds) <= set(found.get("idle", ())) else shown


def lines(rows: list[dict]) -> list[str]:
    """A throughput phase's CPU per registration, each contender at each client count (pure)."""
    out = [
        f"{'clients':>7} {'contender':<9} {'reg/s':>8} {'shards':>8} {'superv.':>7} {'pg back.':>8} {'pg all':>7} "
        f"{'generat.':>8} {'total':>7} {'ceiling/s':>9} {'of it':>6}"
    ]
    for row in rows:
        for kind, name in CONTENDERS:
            if not (found := row.get(kind, {}).get("cpu")):
                continue
            share = found["of_ceiling"]
            out.append(
                f"{row['clients']:>7} {name:<9} {row[kind]['per_second']:>8,.0f} {_us(found, SHARDS):>8} "
                f"{_us(found, SUPERVISOR):>7} {_us(found, PG_BACKENDS):>8} {_us(found, PG_BACKENDS, PG_SERVER):>7} "
                f"{_us(found, GENERATOR):>8} {found['total_us']:>7.1f} {found['ceiling_per_second'] or 0:>9,} "
                f"{'-' if share is None else f'{share:.0%}':>6}"
            )
    return out


def report(rows: list[dict]) -> None:
    if not any(row.get(kind, {}).get("cpu") for row in rows for kind, _ in CONTENDERS):
        return
    cores = next(row[kind]["cpu"]["cores"] for row in rows for kind, _ in CONTENDERS if row.get(kind, {}).get("cpu"))
    print(
        f"  CPU µs per registration by process (CPU clocks over the run; pg all = backends + postmaster, WAL\n"
        f"  writer, checkpointer...; (idle), not in the total); ceiling = {cores} cores × 10⁶ / total µs,\n"
        f"  reg/s as a share of it"
    )
    for line in lines(rows):
        print(f"  {line}")
