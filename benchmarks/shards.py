"""The Réunions supervisor and its shards, as the benchmarks drive them.

The supervisor is started alone (no relay, no listeners: their cost is the events phase's), with a
config file of its own whose restart intensity is high, so that back-to-back kills never make it
give up; the pacing left is the per-shard one (see `wait_stable`).
"""

import subprocess
import sys
from pathlib import Path

from benchmarks.harness import own_env, wait_until
from monclub import config as configuration
from monclub.client.sync import probe
from monclub.postgres.embedded import Cluster
from monclub.supervision.control import query_status
from monclub.supervision.policy import RestartPolicy

SHARDS = 4
RESTART_INTENSITY = 10_000  # restarts per restart_period (10 s) before the supervisor gives up

CONFIG = f"""[reunions]
restart_intensity = {RESTART_INTENSITY}
restart_period = 10
"""


def start_reunions(
    base: Path, home: Path, cluster: Cluster, shards: int = SHARDS, settings: str = ""
) -> tuple[configuration.Config, subprocess.Popen]:
    """`python -m monclub.reunions` with `shards` shards and more `[reunions]` settings; returns
    once every shard answers a ping."""
    (base / "reunions.toml").write_text(CONFIG + settings)
    env = {
        **own_env(),
        "MONCLUB_HOME": str(home),
        "MONCLUB_DATABASE_URL": cluster.conninfo(),
        "MONCLUB_OWNER_DATABASE_URL": cluster.owner_conninfo(),
        "MONCLUB_SHARDS": str(shards),
        "MONCLUB_CONFIG": str(base / "reunions.toml"),
        "PYTHONUNBUFFERED": "1",
    }
    with (base / "reunions.log").open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "monclub.reunions"], env=env, stdout=out, stderr=out)
    config = configuration.load(env)
    for shard in range(shards):
        wait_until(lambda shard=shard: probe(config, shard) is not None, 60, f"shard {shard} to answer", 0.05)
    return config, process


def endpoints(config: configuration.Config) -> list[str]:
    return [config.endpoint("reunions", shard) for shard in range(config.shards)]


def child(config: configuration.Config, shard: int) -> dict:
    """The supervisor's status of one shard ({} when the supervisor does not answer in time)."""
    status = query_status(config.endpoint("reunions"), timeout=0.5) or {"children": []}
    return next((c for c in status["children"] if c["name"] == f"shard-{shard}"), {})


def wait_stable(config: configuration.Config, shard: int) -> int:
    """Wait until the shard has run `stable_after` seconds, so that its next restart has no delay
    (a shard that dies young waits longer each time, see RestartPolicy.delay); its pid."""
    stable = RestartPolicy().stable_after + 0.1
    found = wait_until(
        lambda: ((c := child(config, shard)).get("uptime") or 0) >= stable and c,
        stable + 15,
        f"shard {shard} to be stable",
        0.1,
    )
    return found["pid"]


def spare_ready(config: configuration.Config) -> int:
    """Wait until the supervisor's spare has its sessions open (the supervisor's status says
    `spare_ready`): a kill then measures a restart in the spare, as after any crash of a tree at
    rest; its pid."""

    def ready() -> int | None:
        status = query_status(config.endpoint("reunions"), timeout=0.5) or {}
        return status.get("spare") if status.get("spare_ready") else None

    return wait_until(ready, 30, "the spare to be ready", 0.05)


def loaded(config: configuration.Config, shard: int) -> int:
    """How many aggregates the shard holds in memory (its ping answer)."""
    return (probe(config, shard) or {}).get("loaded", -1)


def rss_kib(pid: int) -> int:
    """Resident set size of a process, from /proc/<pid>/status (VmRSS, in KiB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")
