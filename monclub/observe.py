"""What `monclub status` adds to the bare tree: each shard's load and each listener's lag."""

import psycopg

from monclub.client import probe
from monclub.config import Config
from monclub.db import connect, reads

LISTENERS = ("paiements", "notifications")


def _shard_stats(config: Config, branch: str, index: int) -> dict:
    answer = probe(config, index, branch) or {}
    return {"loaded": answer.get("loaded"), "handled": answer.get("handled")}


def _lags(config: Config) -> dict[str, int]:
    try:
        with connect(config.conninfo(), autocommit=True) as conn:
            return reads.listener_lags(conn)
    except psycopg.Error:
        return {}


def enrich(config: Config, state: dict) -> dict:
    """Add `loaded`/`handled` to running shards and `lag` (events behind the outbox) to listeners."""
    lags = _lags(config) if state["programs"] else {}
    for program in state["programs"]:
        if program["name"] in LISTENERS:
            program["lag"] = lags.get(program["name"])
        for child in program.get("children", []):
            if child["state"] == "running":
                child.update(_shard_stats(config, program["name"], int(child["name"].rsplit("-", 1)[1])))
    return state
