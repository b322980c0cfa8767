"""Kill one process of the tree by its place, and time how long until it serves again."""

import os
import signal
import time

import psycopg

from monclub import registry
from monclub.client.sync import probe
from monclub.config import Config
from monclub.db import connect, reads
from monclub.errors import ConfigError
from monclub.tree import supervisord as tree

POLL = 0.005


def running_places(config: Config) -> dict[str, int]:
    return {place: pid for place, pid in tree.places(tree.status(config)).items() if pid}


def _shard_pid(config: Config, branch: str, index: int) -> int | None:
    answer = probe(config, index, branch, timeout=0.05)
    return None if answer is None else answer["pid"]


def _database_answers(config: Config) -> bool:
    try:
        with connect(config.conninfo(), autocommit=True) as conn:
            reads.ping(conn)
        return True
    except psycopg.Error:
        return False


def serving(config: Config, place: str, old_pids: set[int]) -> bool:
    """Is `place` served again by a process other than the killed ones?"""
    branch, _, shard = place.partition("/shard-")
    if branch in registry.BRANCH_NAMES and shard:
        pid = _shard_pid(config, branch, int(shard))
        return pid is not None and pid not in old_pids
    if place in registry.BRANCH_NAMES:
        pids = [_shard_pid(config, place, i) for i in range(config.shard_count(place))]
        return all(pid is not None and pid not in old_pids for pid in pids)
    if place == "postgres" and not _database_answers(config):
        return False
    pid = tree.places(tree.status(config)).get(place)
    return pid is not None and pid not in old_pids


def kill(config: Config, place: str, timeout: float = 120.0) -> dict:
    """kill -9 the process at `place`, wait until it serves again; the times in seconds."""
    pids = running_places(config)
    if place not in pids:
        raise ConfigError(f"no running process at {place!r}; places: {', '.join(sorted(pids))}")
    killed = {pids[place]}
    if place in registry.BRANCH_NAMES:
        killed |= {pid for p, pid in pids.items() if p.startswith(f"{place}/")}
    started = time.monotonic()
    os.kill(pids[place], signal.SIGKILL)
    while not serving(config, place, killed):
        if time.monotonic() - started > timeout:
            raise ConfigError(f"{place} did not come back within {timeout:.0f}s; see {config.log_dir}")
        time.sleep(POLL)
    return {"place": place, "pid": pids[place], "seconds": time.monotonic() - started}


def kill_root(config: Config, timeout: float = 60.0) -> dict:
    """kill -9 supervisord: every process below must go (no orphan), then start the tree again."""
    pids = running_places(config)
    if "supervisord" not in pids:
        raise ConfigError("supervisord is not running: start MonClub first (monclub start)")
    started = time.monotonic()
    os.kill(pids["supervisord"], signal.SIGKILL)
    while (orphans := [p for p, pid in pids.items() if tree.alive(pid)]) and time.monotonic() - started < 15:
        time.sleep(0.02)
    gone = time.monotonic() - started
    if orphans:
        return {"place": "supervisord", "orphans": orphans, "gone_seconds": gone, "seconds": None}
    tree.launch(config, foreground=False)
    while not tree.status(config)["healthy"]:
        if time.monotonic() - started > timeout:
            raise ConfigError(f"the tree did not come back within {timeout:.0f}s; see {config.log_dir}")
        time.sleep(0.05)
    return {"place": "supervisord", "orphans": [], "gone_seconds": gone, "seconds": time.monotonic() - started}
