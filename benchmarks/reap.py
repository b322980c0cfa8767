"""From a kill -9 to its reap by an idle supervisor, against the killed process's memory.

Run:  scripts/bench reap [--mib 0,20,40,80] [--kills 20]

Why: a restart in the spare (README, "Recovery in a spare process") spends 6 to 11 ms between
the kill and the branch supervisor's reap. This separates the two parts of that wait without
MonClub around them. A parent idle in a ZeroMQ poll on its signal wakeup fd, as
monclub.supervision.supervisor waits, forks children that each touch --mib MiB of their own and
sleep; another process kills one (SIGKILL) and notes the instant. The parent notes when
`waitpid` returns it. The same parent is also woken, idle, by a byte written to a pipe: that is
the wake-up alone. The kernel sends SIGCHLD only once the killed process's memory is torn down,
so what grows with --mib is the exit, not the wake-up. One JSON line is appended to
benchmarks/results.jsonl ("benchmark": "reap").
"""

import argparse
import os
import signal
import statistics
import sys
import time

import zmq

from benchmarks.harness import code_version, host, record, utc_now

SETTLE = 0.2  # s: the parent idle in its poll before each kill or wake-up
MIB = 1024 * 1024


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", default="0,20,40,80", help="MiB each killed child touches, comma-separated")
    parser.add_argument("--kills", type=int, default=20, help="kills (and wake-ups) per size")
    parser.add_argument("--note", default="", help="how quiet the machine was")
    return parser.parse_args(argv)


class IdleParent:
    """The supervisor's way of waiting: a ZeroMQ poll on the wakeup fd that SIGCHLD writes to."""

    def __init__(self):
        self.wakeup, writer = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(writer)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        self.context = zmq.Context()
        self.instants, self.instants_in = os.pipe()  # the other process's instants, as text

    def close(self) -> None:
        """The process's signal handling as it was (a test runs this in pytest's process)."""
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in (self.wakeup, self.instants, self.instants_in):
            os.close(fd)
        self.context.term()

    def _poll(self, *fds: int) -> None:
        poller = zmq.Poller()
        for fd in fds:
            poller.register(fd, zmq.POLLIN)
        poller.poll(5000)
        try:
            while os.read(self.wakeup, 512):
                pass
        except BlockingIOError:
            pass

    def _other(self, act) -> int:
        """A process that waits SETTLE, notes the instant, does `act` and reports that instant."""
        pid = os.fork()
        if pid == 0:
            time.sleep(SETTLE)
            at = time.monotonic()
            act()
            os.write(self.instants_in, b"%r\n" % at)
            os._exit(0)
        return pid

    def _instant(self) -> float:
        return float(os.read(self.instants, 64))

    def kill_to_reap(self, mib: int) -> float:
        """ms from the kill of a child holding `mib` MiB to its reap."""
        child = os.fork()
        if child == 0:
            ballast = bytearray(mib * MIB)
            for page in range(0, len(ballast), 4096):
                ballast[page] = 1
            time.sleep(60)
            os._exit(0)
        time.sleep(SETTLE)  # its memory touched
        killer = self._other(lambda: os.kill(child, signal.SIGKILL))
        while True:
            self._poll(self.wakeup)
            if os.waitpid(child, os.WNOHANG)[0]:
                reaped = time.monotonic()
                break
        killed = self._instant()
        os.waitpid(killer, 0)
        return (reaped - killed) * 1000

    def wake_up(self) -> float:
        """ms from a byte written by another process to the idle parent's return from its poll."""
        reader, writer = os.pipe()
        writer_pid = self._other(lambda: os.write(writer, b"x"))
        self._poll(reader)
        woken = time.monotonic()
        written = self._instant()
        os.waitpid(writer_pid, 0)
        os.close(reader)
        os.close(writer)
        return (woken - written) * 1000


def _summary(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {"median": round(statistics.median(ordered), 2), "min": round(ordered[0], 2), "max": round(ordered[-1], 2)}


def run(args: argparse.Namespace) -> dict:
    parent = IdleParent()
    try:
        wake = _summary([parent.wake_up() for _ in range(args.kills)])
        print(f"wake-up alone (a pipe)   ms: median {wake['median']}  min {wake['min']}  max {wake['max']}")
        sizes = {}
        for mib in [int(size) for size in args.mib.split(",")]:
            sizes[str(mib)] = reap = _summary([parent.kill_to_reap(mib) for _ in range(args.kills)])
            print(f"kill to reap, {mib:>4} MiB  ms: median {reap['median']}  min {reap['min']}  max {reap['max']}")
    finally:
        parent.close()
    return {"wake_up_ms": wake, "kill_to_reap_ms": sizes}


def main(argv=None) -> int:
    args = parse_args(argv)
    result = {"benchmark": "reap", "date": utc_now(), "code": code_version(), "note": args.note, "kills": args.kills}
    result |= {"machine": host()} | run(args)
    record(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
