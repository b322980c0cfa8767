"""What every MonClub process does about itself: its title in ps, dying with its parent, logging."""

import ctypes
import logging
import os
import signal
import sys

import setproctitle

_PR_SET_PDEATHSIG = 1


def set_title(place: str) -> None:
    """Show the process's place in the tree in ps, and which MonClub it belongs to (the state
    directory supervisord hands down in MONCLUB_HOME): `monclub reunions/shard-2 (/srv/club/.monclub)`."""
    home = os.environ.get("MONCLUB_HOME")
    setproctitle.setproctitle(f"monclub {place}" + (f" ({home})" if home else ""))


def die_with_parent(sig: int = signal.SIGKILL, parent: int | None = None) -> None:
    """Ask the kernel to send `sig` when the parent dies, so that no orphan keeps an endpoint.
    `parent` is the pid the parent had before the fork, to catch a parent that died already."""
    parent = parent or os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:
        os.kill(os.getpid(), sig)


def setup_logging(place: str) -> None:
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format=f"%(asctime)s {place}[%(process)d] %(levelname)s %(message)s",
        force=True,
    )


def describe_exit(status: int) -> str:
    """A wait status in words: 'exit 1' or 'killed by SIGKILL'."""
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit {os.WEXITSTATUS(status)}"
