"""What `monclub status` adds to the bare tree: each shard's load, each listener's lag, which
database server is primary, its standbys' lag and timeline, and what to do about a part that is down;
and which process owns an aggregate (`seance voir`, `pret voir`)."""

import psycopg

from monclub.client.sync import probe
from monclub.cluster import directory
from monclub.cluster.partition import partition_of
from monclub.config import Config
from monclub.db import connect, reads
from monclub.tree import database

LISTENERS = ("paiements", "notifications")
SETTLED_DOWN = ("fatal", "exited", "stopped")
READ_TIMEOUT = 2  # seconds: what a status read waits for the database to answer at all (a frozen one)


def _shard_stats(config: Config, branch: str, index: int) -> dict:
    answer = probe(config, index, branch) or {}
    keys = ("compiled", "loaded", "handled", "partitions", "waiting")
    return {**{key: answer.get(key) for key in keys}, **_batches(answer.get("stats"))}


def _batches(stats: dict | None) -> dict:
    """How many transactions the shard committed, their mean number of commands, and how many
    aggregates it unloaded (idle, or beyond max_loaded) since it started."""
    if not stats:
        return {}
    commits = sum(stats["batch"]["counts"])
    return {
        "commits": commits,
        "batch_mean": round(stats["batch"]["sum"] / commits, 1) if commits else None,
        "unloaded": stats.get("unloaded"),
    }


def _lags(config: Config) -> dict[str, int]:
    try:
        with connect(config.conninfo(), autocommit=True, connect_timeout=READ_TIMEOUT) as conn:
            return reads.listener_lags(conn)
    except psycopg.Error:
        return {}


def enrich(config: Config, state: dict) -> dict:
    """Add `loaded`/`unloaded`/`handled` to running shards, `lag` (events behind the outbox) to listeners,
    `database` (each server of the URL: its role, lag, timeline, what Patroni says: monclub.tree.database),
    and `remedies`: one line per part that is down, saying what to do."""
    lags = _lags(config) if state["programs"] else {}
    state["database"] = database.hosts(config, READ_TIMEOUT)
    for program in state["programs"]:
        if program["name"] in LISTENERS:
            program["lag"] = lags.get(program["name"])
        for child in program.get("children", []):
            if child["state"] == "running":
                child.update(_shard_stats(config, program["name"], int(child["name"].rsplit("-", 1)[1])))
                state["healthy"] = state["healthy"] and not child["waiting"]
    state["remedies"] = remedies(config, state)
    return state


def remedies(config: Config, state: dict) -> list[str]:
    """What to do, one line per part of the tree that is not running."""
    if state["supervisord"]["pid"] is None:
        return [f"MonClub is not running (state in {config.home}); run: monclub start"]
    found = []
    for program in state["programs"]:
        found += _program_remedy(config, program)
        for child in program.get("children", []):
            place = f"{program['name']}/{child['name']}"
            if child["state"] != "running":
                found.append(f"{place} is {child['state']}: its supervisor restarts it")
            elif child.get("waiting"):
                found.append(f"{place}: {child['waiting']}; it takes its partition once free")
    return found


def _program_remedy(config: Config, program: dict) -> list[str]:
    name, state, cause = program["name"], program["state"], program.get("last_exit") or ""
    log = config.log_dir / f"{name}.log"
    if state == "running":
        return []
    if "configuration error" in cause:
        return [f"{name}: configuration error, see {log}; it stays down until it is fixed, then run: monclub start"]
    if state in SETTLED_DOWN:
        return [f"{name} is {state}" + (f" ({cause})" if cause else "") + f"; see {log}, then run: monclub start"]
    return [f"{name} is {state}: supervisord is restarting it; if it stays so, see {log}"]


def owner(config: Config, branch: str, aggregate_id: str) -> dict:
    """The owner of `aggregate_id`'s partition as the directory knows it: {partition, shard, pid,
    node, epoch}; None for what the directory does not say (partition not owned now, or the
    database unreachable)."""
    partition = partition_of(aggregate_id, config.partition_count(branch))
    try:
        with connect(config.conninfo(), autocommit=True, connect_timeout=READ_TIMEOUT) as conn:
            found = directory.owners(conn, branch, [partition])
    except psycopg.Error:
        found = []
    entry = found[0] if found else {}
    return {"partition": partition, **{key: entry.get(key) for key in ("shard", "pid", "node", "epoch")}}


def describe_owner(found: dict) -> str:
    if found["shard"] is None:
        return f"partition {found['partition']}, owner unknown (see monclub status)"
    where = f"{found['shard']} (pid {found['pid']}) on {found['node']}"
    return f"{where}, partition {found['partition']} epoch {found['epoch']}"
