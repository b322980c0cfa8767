"""Quiescence after the chaos drill's faults: the whole tree running and every listener caught up
with the outbox, waited for with a deadline and a progress line saying what is still missing."""

import time
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from monclub import registry
from monclub.config import Config
from monclub.db import connect, reads
from monclub.tree import supervisord as tree

STALL_SECONDS = 10.0
POLL = 0.2
FINAL = ("fatal", "stopped")
GAVE_UP = (
    "supervisord will not restart it by itself (see log/supervisord.log); `monclub stop` then `monclub start`"
    " brings the tree back"
)


def not_running(config: Config, state: dict) -> list[str]:
    """The parts of the tree that do not run, in words: 'postgres (fatal)', 'reunions/shard-1 (missing)'."""
    if state["supervisord"]["pid"] is None:
        return ["supervisord (stopped)"]
    down = [f"{p['name']} ({p['state']})" for p in state["programs"] if p["state"] != "running"]
    expected = {branch: config.shard_count(branch) for branch in registry.BRANCH_NAMES}
    for program in state["programs"]:
        if program["name"] not in expected or program["state"] != "running":
            continue
        children = {child["name"]: child["state"] for child in program.get("children", [])}
        for index in range(expected[program["name"]]):
            child_state = children.get(f"shard-{index}", "missing")
            if child_state != "running":
                down.append(f"{program['name']}/shard-{index} ({child_state})")
    return down


@dataclass
class Missing:
    """What keeps the drill from quiescence; `final` when supervisord will not restart it by itself."""

    what: str
    lags: dict | None = None
    final: bool = False


def missing(config: Config) -> Missing | None:
    """What keeps the drill from quiescence, None once quiet."""
    try:
        state = tree.status(config)
    except (OSError, xmlrpc.client.Error) as error:
        return Missing(f"supervisord does not answer ({error})")
    if down := not_running(config, state):
        final = [p["name"] for p in state["programs"] if p["state"] in FINAL] or state["supervisord"]["pid"] is None
        return Missing(f"not running: {', '.join(down)}", final=bool(final))
    try:
        with connect(config.conninfo(), autocommit=True) as conn:
            lags = {name: lag for name, lag in reads.listener_lags(conn).items() if lag}
    except psycopg.Error as error:
        return Missing(f"the database does not answer ({str(error).strip().splitlines()[0]})")
    if not lags:
        return None
    behind = ", ".join(f"{name} {lag}" for name, lag in sorted(lags.items()))
    return Missing(f"listeners behind the outbox (events): {behind}", lags)


def given_up(config: Config, name: str) -> str | None:
    """'postgres (fatal)' when supervisord will not restart program `name` by itself, else None."""
    try:
        programs = tree.status(config)["programs"]
    except (OSError, xmlrpc.client.Error):
        return None
    return next((f"{p['name']} ({p['state']})" for p in programs if p["name"] == name and p["state"] in FINAL), None)


def wait(config: Config, deadline: float, show: Callable[[float, str], None]) -> tuple[float, str | None]:
    """Seconds until quiet, and why it is not (None when it is): what was still missing when the
    deadline passed, a part supervisord gave up on (no use waiting for it), or listeners that
    stopped moving for STALL_SECONDS (a listener stuck on an event it cannot apply). `show(elapsed,
    what)` is called on every poll."""
    started = moved = time.monotonic()
    seen = None
    while True:
        now = time.monotonic()
        if (found := missing(config)) is None:
            return now - started, None
        show(now - started, found.what)
        if found.final:
            return now - started, f"{found.what}: {GAVE_UP}"
        if found.lags is None or found.lags != seen:
            seen, moved = found.lags, now
        elif now - moved > STALL_SECONDS:
            return now - started, f"listeners stopped behind the outbox for {STALL_SECONDS:.0f}s: {found.what}"
        if now - started > deadline:
            return now - started, f"not quiet within {deadline:.0f}s: {found.what}"
        time.sleep(POLL)
