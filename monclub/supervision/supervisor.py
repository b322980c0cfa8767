"""A one_for_one supervisor of forked OS processes, with OTP restart intensity.

Children are forked from this already-imported process (a template: no import cost on restart),
or handed to a spare forked ahead and already prepared (monclub.supervision.spare), when the
supervisor is given a preparation.
Signal handlers only wake the loop; the loop reaps, logs every exit with its cause, restarts that
child alone after its delay, and answers on a control socket: `status`, and `replace` (OTP's hot
code upgrade, as OS processes): a fresh copy of the child is started by exec, so that it runs the
code on disk, then the old one is stopped (SIGTERM; a shard hands its partitions over, and its
successor, which waited for its endpoint, takes them). That child is then always restarted fresh.

Exit codes, the contract with supervisord (see docs/architecture.md):
  0   stopped on request (SIGTERM/SIGINT): expected, not restarted;
  1   restart intensity exceeded: unexpected, supervisord restarts the whole branch;
  78  configuration error (EX_CONFIG): expected, not restarted; the log says what to change.
"""

import logging
import os
import signal
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

import zmq

from monclub.contract import protocol
from monclub.errors import InvalidRequest, MonclubError
from monclub.supervision.control import parse_control
from monclub.supervision.policy import RestartPolicy
from monclub.supervision.process import describe_exit, die_with_parent
from monclub.supervision.spare import SPARE_DELAY, Spare, wait_to_become
from monclub.wire import codec as wire

log = logging.getLogger(__name__)

EXIT_STOPPED = 0
EXIT_INTENSITY = 1
EXIT_CONFIG = 78
_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGCHLD}
_STOP_GRACE = 10.0


@dataclass
class ChildSpec:
    """`run` is the child's body in a fork of this process; `fresh`, the command that starts a
    copy of it running the code on disk (None: it cannot be replaced)."""

    name: str
    run: Callable[[], int]
    fresh: list[str] | None = None


@dataclass
class Child:
    spec: ChildSpec
    pid: int | None = None
    started: float = 0.0
    started_wall: float = 0.0
    starts: int = 0
    quick_deaths: int = 0
    restart_at: float | None = None
    last_exit: str | None = None
    fresh: bool = False

    def status(self, now: float) -> dict:
        running = self.pid is not None
        return {
            "name": self.spec.name,
            "pid": self.pid,
            "state": "running" if running else "backoff",
            "uptime": round(now - self.started, 3) if running else None,
            "restarts": max(0, self.starts - 1),
            "last_exit": self.last_exit,
            "fresh": self.fresh,
        }


@dataclass
class Supervisor:
    name: str
    specs: list[ChildSpec]
    policy: RestartPolicy
    control_endpoint: str
    prepare_spare: Callable[[], None] | None = None  # None: no spare, each restart a fresh fork
    children: list[Child] = field(default_factory=list)
    retired: set[int] = field(default_factory=set)
    spare: Spare | None = None
    spare_at: float | None = None
    _stop: bool = False

    def run(self) -> int:
        self.children = [Child(spec) for spec in self.specs]
        reader, writer = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(writer)
        for sig in _SIGNALS:
            signal.signal(sig, self._on_signal)
        context = zmq.Context()
        control = context.socket(zmq.ROUTER)
        control.linger = 0
        control.bind(self.control_endpoint)
        try:
            for child in self.children:
                self._start(child)
            if self.prepare_spare is not None:
                self.spare_at = time.monotonic() + SPARE_DELAY
            return self._loop(control, reader)
        finally:
            self._stop_children()
            control.close(linger=0)
            context.term()

    def _on_signal(self, signum, frame):
        if signum in (signal.SIGTERM, signal.SIGINT):
            self._stop = True

    def _loop(self, control, reader: int) -> int:
        poller = zmq.Poller()
        poller.register(control, zmq.POLLIN)
        poller.register(reader, zmq.POLLIN)
        while not self._stop:
            events = dict(poller.poll(self._timeout_ms()))
            if reader in events:
                _drain(reader)
            if not self._reap():
                return EXIT_INTENSITY
            self._start_due()
            if control in events:
                self._answer(control)
        log.info("%s stopping on request", self.name)
        return EXIT_STOPPED

    def _timeout_ms(self) -> int:
        due = [c.restart_at for c in self.children if c.restart_at is not None]
        due += [self.spare_at] if self.spare_at is not None else []
        if not due:
            return 1000
        return max(0, int((min(due) - time.monotonic()) * 1000))

    def _reap(self) -> bool:
        """Collect every exited child; False when restart intensity is exceeded."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return True
            if pid == 0:
                return True
            if self.spare is not None and pid == self.spare.pid:
                log.warning("%s: the spare (pid %d) exited: %s", self.name, pid, describe_exit(status))
                self._spare_used()
                continue
            child = next((c for c in self.children if c.pid == pid), None)
            if child is None:
                if pid in self.retired:
                    self.retired.discard(pid)
                    log.info("%s: replaced child pid %d exited: %s", self.name, pid, describe_exit(status))
                continue
            now = time.monotonic()
            child.pid, child.last_exit = None, describe_exit(status)
            log.warning("%s/%s (pid %d) exited: %s", self.name, child.spec.name, pid, child.last_exit)
            if self._stop:
                continue
            if not self.policy.allow_restart(now):
                log.error(
                    "%s: more than %d restarts in %.1fs, giving up (exit %d) so that supervisord restarts the branch",
                    self.name,
                    self.policy.intensity,
                    self.policy.period,
                    EXIT_INTENSITY,
                )
                return False
            delay, child.quick_deaths = self.policy.delay(now - child.started, child.quick_deaths)
            child.restart_at = now + delay

    def _start_due(self) -> None:
        now = time.monotonic()
        for child in self.children:
            if child.restart_at is not None and child.restart_at <= now and not self._stop:
                self._start(child)
        if self.spare_at is not None and self.spare_at <= now and not self._stop:
            self._fork_spare()

    def _start(self, child: Child) -> None:
        """Start `child`: the spare becomes it when there is one and the child runs the code
        imported here (not fresh), else a fork."""
        pid, how = None, "the spare"
        if self.spare is not None and not child.fresh:
            if self.spare.hand(self.children.index(child)):
                pid = self.spare.pid
            self._spare_used()  # it became the child, or it was gone
        if pid is None:
            fresh = child.spec.fresh if child.fresh else None
            pid, how = self._fork(lambda: _run(child.spec, fresh)), "forked"
        child.pid, child.restart_at = pid, None
        child.started, child.started_wall = time.monotonic(), time.time()
        child.starts += 1
        log.info("%s/%s started (pid %d, %s)", self.name, child.spec.name, pid, how)

    def _fork(self, body: Callable[[], int], keep: int = -1) -> int:
        """Fork a child running `body` (monclub.supervision.spare keeps the fd `keep` open); its pid."""
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            _become_child(body, blocked, parent, keep)
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        return pid

    def _fork_spare(self) -> None:
        mine, theirs = socket.socketpair()
        runs = [child.spec.run for child in self.children]
        prepare = self.prepare_spare
        assert prepare is not None
        with theirs:
            pid = self._fork(lambda: wait_to_become(prepare, runs, theirs.fileno()), keep=theirs.fileno())
        self.spare, self.spare_at = Spare(pid, mine), None
        log.info("%s: spare forked (pid %d)", self.name, pid)

    def _spare_used(self) -> None:
        """The spare became a child, or died: the next one is forked SPARE_DELAY later."""
        if self.spare is not None:
            self.spare.close()
        self.spare, self.spare_at = None, time.monotonic() + SPARE_DELAY

    def _answer(self, control) -> None:
        while control.poll(0):
            frames = control.recv_multipart()
            if len(frames) != 3 or frames[1]:
                continue
            try:
                request = parse_control(wire.decode(frames[2]))
                result = self.replace(request.child) if request.op == "replace" else self.status()
                reply = protocol.ok(request.id, result)
            except MonclubError as error:
                reply = protocol.error(None, error.code, error.message)
            control.send_multipart([frames[0], b"", wire.encode(reply)])

    def replace(self, name: str | None) -> dict:
        """Start a fresh copy of child `name`, then stop the old one; their pids."""
        child = next((c for c in self.children if c.spec.name == name), None)
        if child is None or child.spec.fresh is None:
            raise InvalidRequest(f"no child {name!r} that can be replaced")
        old = child.pid
        child.fresh = True
        self._start(child)
        if old is not None:
            self.retired.add(old)
            _signal(old, signal.SIGTERM)
        return {"child": child.spec.name, "old": old, "pid": child.pid}

    def status(self) -> dict:
        now = time.monotonic()
        return {
            "name": self.name,
            "pid": os.getpid(),
            "children": [child.status(now) for child in self.children],
            "spare": self.spare.pid if self.spare is not None else None,
            "spare_ready": self.spare is not None and self.spare.ready,
        }

    def _stop_children(self) -> None:
        """SIGTERM every child, wait for them, SIGKILL whoever is left after the grace period."""
        self._stop = True
        running = {c.pid for c in self.children if c.pid is not None}
        spare = self.spare.pid if self.spare is not None else None
        if self.spare is not None:
            running.add(self.spare.pid)
            self.spare.close()  # a spare waiting for its index ends on the pair's end, with exit 0
        for pid in running:
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + _STOP_GRACE
        while running:
            for pid in list(running):
                try:
                    done, status = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    done, status = pid, 0
                if done:
                    running.discard(pid)
                    who = "the spare" if pid == spare else "child"
                    log.info("%s: %s pid %d stopped: %s", self.name, who, pid, describe_exit(status))
            if running and time.monotonic() > deadline:
                for pid in running:
                    _signal(pid, signal.SIGKILL)
                deadline = float("inf")
            time.sleep(0.02)


def _become_child(body: Callable[[], int], blocked, parent: int, keep: int) -> None:
    """Runs in the forked child and never returns: runs `body` with only the standard streams
    (and `keep`) open, and exits with its code."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        for sig in _SIGNALS:
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        die_with_parent(signal.SIGKILL, parent)
        if keep >= 0:
            os.closerange(3, keep)
        os.closerange(max(3, keep + 1), os.sysconf("SC_OPEN_MAX"))
        code = body()
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(code)


def _run(spec: ChildSpec, fresh: list[str] | None) -> int:
    """A child's body: the spec's, or an exec of `fresh` (the code on disk)."""
    if fresh is not None:
        os.execv(fresh[0], fresh)
    return spec.run()


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 512):
            pass
    except BlockingIOError:
        pass


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
