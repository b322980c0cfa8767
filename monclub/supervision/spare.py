"""A spare child: a process forked ahead of need, prepared (its database sessions opened), that
says so on a socket pair shared with its supervisor, then waits there for the index of the child
it is to become.

Why: a shard restarted by a fresh fork spent most of its recovery before its first answer on
what does not depend on which shard it is: the fork, and a new backend started for each of its
sessions (README, "Where the recovery's time goes"). The supervisor keeps one spare per branch;
when it restarts a child it hands that child's index to the spare, whose process becomes the
child (the same pid from then on), and forks the next spare SPARE_DELAY later, once the restarted
child had the cores to itself. OTP's one_for_one is unchanged: the child restarted is the one
that died, with the state it always starts with (none), counted against the restart intensity.
A child replaced by fresh code (`replace`) is never handed to a spare, which runs the code its
supervisor imported. A spare that dies is only logged and forked again: it holds no state."""

import contextlib
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

SPARE_DELAY = 1.0  # s from a spare's use or death to the next one's fork


READY = b"r"


@dataclass
class Spare:
    """A forked spare: its pid, and the supervisor's end of the pair."""

    pid: int
    channel: socket.socket
    prepared: bool = False

    @property
    def ready(self) -> bool:
        """Whether the spare has said its preparation is done (read without waiting; a spare gone
        is not ready, and its exit is the reaper's to log)."""
        if not self.prepared and self.channel.fileno() >= 0:
            try:
                self.prepared = self.channel.recv(1, socket.MSG_DONTWAIT) == READY
            except (BlockingIOError, ConnectionResetError):
                pass
        return self.prepared

    def hand(self, index: int) -> bool:
        """Tell the spare to become child `index`; False when it is gone (the child is forked)."""
        try:
            self.channel.sendall(b"%d" % index)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False
        finally:
            self.close()

    def close(self) -> None:
        self.channel.close()


def wait_to_become(prepare: Callable[[], None], runs: list[Callable[[], int]], fd: int) -> int:
    """The spare's body on its end `fd` of the pair: prepare, say it is ready, then wait for an
    index and run that child's body; exit 0 when the supervisor closes the pair without one (it
    stopped). A failed preparation is logged, and the spare is not ready: the child it may still
    become opens what it needs itself, as a fork would."""
    with socket.socket(fileno=fd) as channel:
        try:
            prepare()
        except Exception:
            log.exception("the spare's preparation failed; the child it becomes will open its own sessions")
        else:
            with contextlib.suppress(BrokenPipeError):  # handed an index meanwhile: the pair's other end is closed
                channel.sendall(READY)
        try:
            index = channel.recv(32)
        except ConnectionResetError:  # closed with our READY unread: a close all the same
            index = b""
    if not index:
        return 0
    return runs[int(index)]()
