"""The database drill's faults: one at a time, on the demo's primary, on a seeded schedule, each
timed from the fault to another primary (Patroni's `/primary`) and to the next commit the load
was answered after that primary was seen (Outcomes.first_answer_after).

- postgres: kill -9 of the primary's postmaster alone; its Patroni releases the leader key at
  once (the demo's `primary_start_timeout: 0`) and the synchronous standby is promoted;
- kill: kill -9 of every process of the primary's host (monclub.postgres.ha.host); once
  another primary served a commit, the demo is asked (SIGUSR1) to start the host again;
- freeze: SIGSTOP of them all; SIGCONT once another primary served a commit.

A fault starts `every` seconds after the previous one at the earliest, and never before the
demo has settled (rest.settled: three members on the primary's timeline, both standbys
streaming, one synchronous): faulting the primary earlier would take two of three hosts out, and
strict synchronous replication then commits nothing. The kinds come in rounds, each kind once
per round in an order the seed shuffles: two faults of `postgres,kill` are one of each."""

import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from monclub.drills.load import Outcomes
from monclub.postgres.ha import host, layout, rest

KINDS = ("postgres", "kill", "freeze")
WHOLE_HOST = ("kill", "freeze")
SETTLE_SECONDS = 180.0  # a host started again may be rewound, then must catch up
PRIMARY_SECONDS = 60.0  # from the fault to another primary: a ttl (20 s) and Patroni's loops, with room
COMMIT_SECONDS = 60.0  # from another primary to a commit through MonClub
CARRY_SECONDS = PRIMARY_SECONDS + COMMIT_SECONDS  # the load goes on this long for a fault in progress
POLL = 0.1

T = TypeVar("T")


def order(seed: int, kinds: tuple[str, ...]) -> Iterator[str]:
    """The faults' kinds, endlessly: rounds of every kind once, each round shuffled by the seed."""
    rng = random.Random(seed)
    while True:
        round_ = list(kinds)
        rng.shuffle(round_)
        yield from round_


@dataclass
class Demo:
    """The demo the drill faults: its directory (the members' homes, demo.pid) and its Patroni."""

    directory: Path
    urls: list[str]
    size: int = layout.MEMBERS

    def settled(self) -> bool:
        return rest.ready(self.urls, self.size)


@dataclass
class Fault:
    kind: str
    member: str
    at: float  # time.monotonic()
    primary: float | None = None  # seconds from the fault to another primary
    commit: float | None = None  # seconds from the fault to the next commit after that primary
    failed: int = 0  # calls answered without an acknowledged outcome meanwhile

    def row(self, started: float) -> dict:
        return {
            "kind": self.kind,
            "member": self.member,
            "at": round(self.at - started, 1),
            "primary_seconds": None if self.primary is None else round(self.primary, 2),
            "commit_seconds": None if self.commit is None else round(self.commit, 2),
            "failed": self.failed,
        }

    def missed(self) -> str | None:
        if self.primary is None:
            return f"{self.kind} of {self.member}: no other primary within {PRIMARY_SECONDS:.0f}s"
        if self.commit is None:
            return f"{self.kind} of {self.member}: no commit within {COMMIT_SECONDS:.0f}s of another primary"
        return None


def until(condition: Callable[[], T | None], seconds: float, stop: threading.Event | None = None) -> T | None:
    """condition()'s first true value, polled until `seconds` pass (or `stop` is set); else None."""
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        if time.monotonic() > deadline or (stop is not None and stop.is_set()):
            return None
        time.sleep(POLL)
    return value


@dataclass
class PrimaryFaults:
    """What chaos.load_and_faults drives (`loop`, `per_target`), and what went wrong (`problems`)."""

    demo: Demo
    outcomes: Outcomes
    every: float
    seed: int
    kinds: tuple[str, ...] = KINDS
    faults: list[Fault] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    held: tuple[Fault, list[int]] | None = None  # the fault in progress and the processes it hit
    closed: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def per_target(self) -> Counter:
        with self.lock:
            return Counter(fault.kind for fault in self.faults)

    def loop(self, stop: threading.Event) -> None:
        """A fault once `every` seconds have passed since the last and the demo has settled,
        until `stop`; then wait for the demo to settle after the last."""
        kinds, earliest = order(self.seed, self.kinds), time.monotonic() + self.every
        while not stop.wait(max(0.0, earliest - time.monotonic())) and not self.closed.is_set():
            if not self._settled(f"before fault {len(self.faults) + 1}", stop):
                break
            earliest = time.monotonic() + self.every
            self.inject(next(kinds))
        if self.faults:
            self._settled("after the last fault")

    def _settled(self, when: str, stop: threading.Event | None = None) -> bool:
        if until(self.demo.settled, SETTLE_SECONDS, stop):
            return True
        if stop is None or not stop.is_set():
            self.problems.append(f"the demo did not settle within {SETTLE_SECONDS:.0f}s {when}")
        return False

    def _target(self, kind: str) -> tuple[str, str, list[int]]:
        """The primary's REST API, its member's name, and the processes `kind` hits; LookupError
        when there is no primary or none of its processes."""
        before = rest.primary(self.demo.urls)
        if before is None:
            raise LookupError("no primary")
        (member,) = rest.members([before])
        try:
            pids = host.processes(self.demo.directory / member.name, kind in WHOLE_HOST)
        except (OSError, ValueError) as error:  # its postmaster.pid gone meanwhile
            raise LookupError(f"{member.name}: {error}") from error
        if not pids:
            raise LookupError(f"no process of {member.name} ({before}) under {self.demo.directory}")
        return before, member.name, pids

    def inject(self, kind: str) -> None:
        try:
            before, name, pids = self._target(kind)
        except LookupError as error:
            self.problems.append(f"{kind} of the primary not done: {error}")
            return
        failed = self.outcomes.failed
        fault = Fault(kind, name, time.monotonic())
        with self.lock:  # under the lock: `close` either comes first, or finds the host to give back
            if self.closed.is_set():
                return
            self.faults.append(fault)
            self.held = (fault, pids)
            host.signal_all(pids, signal.SIGSTOP if kind == "freeze" else signal.SIGKILL)
        try:
            others = [url for url in self.demo.urls if url != before]  # a frozen host holds each request 2 s
            if until(lambda: rest.primary(others), PRIMARY_SECONDS):
                elected = time.monotonic()
                fault.primary = elected - fault.at
                committed = until(lambda: self.outcomes.first_answer_after(elected), COMMIT_SECONDS)
                fault.commit = None if committed is None else committed - fault.at
        finally:
            self.release()
            fault.failed = self.outcomes.failed - failed

    def close(self) -> None:
        """No fault after this, and the host the fault in progress holds given back: the drill
        is over or interrupted (Ctrl-C; its process may then take a while to exit, the load's
        threads still running, and must fault nothing more meanwhile)."""
        self.closed.set()
        self.release()

    def release(self) -> None:
        """Give back the host the fault in progress holds: thaw it, or have the demo start it again."""
        with self.lock:
            held, self.held = self.held, None
        if held is None:
            return
        fault, pids = held
        if fault.kind == "freeze":
            host.signal_all(pids, signal.SIGCONT)
        elif fault.kind == "kill" and not host.ask_revive(self.demo.directory):
            self.problems.append(f"the demo is gone: nobody started {fault.member}'s host again")
