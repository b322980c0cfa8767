"""One process per endpoint: binding an ipc path silently takes it over from a live owner, so a
shard first takes an exclusive lock on `<path>.lock` (flock: released by the kernel when its
process dies, kill -9 included) and binds only once it holds it. A second process started by hand
for the same shard waits, saying who holds the endpoint, instead of stealing its clients. A tcp
endpoint needs no lock: a second bind of the same port fails."""

import fcntl
import logging
import os
import time
from collections.abc import Callable

log = logging.getLogger(__name__)
RETRY_SECONDS = 0.2


def _holder(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, 64).decode(errors="replace").strip() or "?"


def claim(endpoint: str, stopping: Callable[[], bool]) -> bool:
    """Hold the endpoint until this process exits (its lock's descriptor stays open); False when
    `stopping` turned true while waiting for another process to let go of it."""
    if not endpoint.startswith("ipc://"):
        return True
    fd = os.open(endpoint.removeprefix("ipc://") + ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    waiting_since = None
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if waiting_since is None:
                waiting_since = time.monotonic()
                log.warning("%s is served by pid %s: waiting for it to end", endpoint, _holder(fd))
            if stopping():
                os.close(fd)
                return False
            time.sleep(RETRY_SECONDS)
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    if waiting_since is not None:
        log.info("%s is ours after %.1fs", endpoint, time.monotonic() - waiting_since)
    return True
