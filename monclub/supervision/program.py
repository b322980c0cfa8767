"""What every long-running program of the tree does first, in one place: its title in ps, its
logging, dying with its parent, its configuration and its start record; and how it stops.

A program's body receives its configuration (a body with a loop makes a `Stop`; one that blocks in
C, as the bus's proxy, keeps SIGTERM's default action). A configuration error ends the program
with EXIT_CONFIG (78), which supervisord does not restart (see docs/architecture.md). Any other
death is restarted at once by supervisord, forever; a program that keeps dying young waits first
(RESTARTS: no delay after a run of 5 s or more, then 0.1 s doubling up to 5 s), which supervisord's
own backoff cannot do (it grows without bound, then gives up: FATAL).
"""

import logging
import signal
import time
from collections.abc import Callable

from monclub import config as configuration
from monclub.errors import ConfigError
from monclub.supervision.policy import RestartPolicy
from monclub.supervision.process import die_with_parent, set_title, setup_logging
from monclub.supervision.starts import record_start
from monclub.supervision.supervisor import EXIT_CONFIG

log = logging.getLogger("monclub.supervision.program")
RESTARTS = RestartPolicy(base_delay=0.1, max_delay=5.0, stable_after=5.0)


class Stop:
    """Records SIGTERM/SIGINT; the program's loop acts on it between two pieces of work."""

    def __init__(self) -> None:
        self.requested = False
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._record)

    def _record(self, signum, frame) -> None:
        self.requested = True


def run(
    place: str, body: Callable[[configuration.Config], int], parent_signal: signal.Signals | None = signal.SIGTERM
) -> int:
    """Start the program at `place` in the tree and run `body`; its exit code.
    `parent_signal` None: the body arranges to die with its parent itself (postgres does, after
    giving up root, since a change of credentials clears the kernel's parent-death signal)."""
    set_title(place)
    setup_logging(place)
    if parent_signal is not None:
        die_with_parent(parent_signal)
    try:
        config = configuration.load()
        config.prepare_dirs()
        delay = record_start(config.run_dir, place, RESTARTS)
        if delay:
            log.warning("died young again: restarting in %.1fs", delay)
            time.sleep(delay)
        return body(config)
    except ConfigError as error:
        log.error("configuration error: %s", error)
        return EXIT_CONFIG
