"""A spare child: a process forked ahead of need, prepared (its database sessions opened), that
waits on a pipe for the index of the child it is to become.

Why: a shard restarted by a fresh fork spent most of its recovery before its first answer on
what does not depend on which shard it is: the fork, and a new backend started for each of its
sessions (README, "Where the recovery's time goes"). The supervisor keeps one spare per branch;
when it restarts a child it hands that child's index to the spare, whose process becomes the
child (the same pid from then on), and forks the next spare SPARE_DELAY later, once the restarted
child had the cores to itself. OTP's one_for_one is unchanged: the child restarted is the one
that died, with the state it always starts with (none), counted against the restart intensity.
A child replaced by fresh code (`replace`) is never handed to a spare, which runs the code its
supervisor imported. A spare that dies is only logged and forked again: it holds no state."""

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

SPARE_DELAY = 1.0  # s from a spare's use or death to the next one's fork


@dataclass
class Spare:
    """A forked spare: its pid, and the pipe's end the supervisor writes the index to."""

    pid: int
    pipe: int

    def hand(self, index: int) -> bool:
        """Tell the spare to become child `index`; False when it is gone (the child is forked)."""
        try:
            os.write(self.pipe, b"%d" % index)
            return True
        except BrokenPipeError:
            return False
        finally:
            self.close()

    def close(self) -> None:
        if self.pipe >= 0:
            os.close(self.pipe)
            self.pipe = -1


def wait_to_become(prepare: Callable[[], None], runs: list[Callable[[], int]], reader: int) -> int:
    """The spare's body: prepare, then wait for an index and run that child's body; exit 0 when
    the supervisor closes the pipe without one (it stopped). A failed preparation is logged: the
    child then opens what it needs itself, as a fork would."""
    try:
        prepare()
    except Exception:
        log.exception("the spare's preparation failed; the child it becomes will open its own sessions")
    index = os.read(reader, 32)
    os.close(reader)
    if not index:
        return 0
    return runs[int(index)]()
