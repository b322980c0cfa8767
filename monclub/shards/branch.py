"""A branch supervisor program (Réunions, Prêts), and the shard program it forks.

The branch is a program of the supervisord tree that owns one branch's shards: it waits for the
database, migrates the schema, checks the branch's partition count, then supervises one forked
process per shard (one_for_one). Each shard process hosts the owners of its partitions
(monclub.partition.hosted) and serves them on its ROUTER socket. Exit codes: see
monclub.supervision.supervisor.
"""

import logging
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import psycopg

from monclub import config as configuration
from monclub import curve, program
from monclub.db import connect
from monclub.db.migrate import check_partitions, migrate
from monclub.partition import hosted
from monclub.shards.directory import Directory
from monclub.shards.host import ShardHost
from monclub.shards.owner import Domain, Owner, place
from monclub.shards.server import serve
from monclub.shards.store import PostgresStore
from monclub.supervision.policy import RestartPolicy
from monclub.supervision.process import set_title, setup_logging
from monclub.supervision.supervisor import ChildSpec, Supervisor

log = logging.getLogger("monclub.branch")


@dataclass(frozen=True)
class Branch:
    """A branch of shards: its name, its domain (made from the configuration) and its store."""

    name: str
    domain: Callable[[configuration.Config], Domain]
    store: type[PostgresStore]


def postgres_owner(
    domain: Domain,
    store: type[PostgresStore],
    partition: int,
    conninfo: str,
    fault: str | None = None,
    node: str | None = None,
    shard: str | None = None,
    endpoint: str | None = None,
) -> Owner:
    """The owner of `partition` on its PostgreSQL store, for the shard process `shard` of `node`
    listening at `endpoint` (what the directory records)."""
    shard = shard or place(domain.branch, partition)
    open_store = partial(store.open, conninfo, shard, partition, fault != "no_fence", node, endpoint)
    return Owner(domain, partition, open_store, fault)


def shard_host(branch: Branch, config: configuration.Config, conninfo: str, index: int) -> ShardHost:
    """Shard process `index` of this node: the owners of the partitions it hosts."""
    domain = branch.domain(config)
    name = place(branch.name, index)
    endpoint = config.endpoint(branch.name, index)
    partitions = config.partition_count(branch.name)
    owners = [
        postgres_owner(domain, branch.store, partition, conninfo, config.fault, config.node, name, endpoint)
        for partition in hosted(partitions, config.shard_count(branch.name), index)
    ]
    return ShardHost(domain, name, partitions, owners, Directory(conninfo, branch.name))


def run_shard(branch: Branch, config: configuration.Config, conninfo: str, index: int) -> int:
    """The program of one shard process, forked by its branch supervisor."""
    name = place(branch.name, index)
    set_title(name)
    setup_logging(name)
    return serve(config.endpoint(branch.name, index), shard_host(branch, config, conninfo, index), config)


def prepare_database(conninfo: str, branch: str, partitions: int, app_role: str | None = None) -> None:
    """Wait for PostgreSQL (a supervisor that cannot reach it waits, it does not crash-loop),
    then migrate as the owner of the schema (`conninfo`), grant `app_role`, and check the
    partition count."""
    waited = 0.0
    while True:
        try:
            with connect(conninfo, autocommit=True) as conn:
                applied = migrate(conn, app_role)
                if applied:
                    log.info("schema migrated: %s", ", ".join(applied))
                check_partitions(conn, branch, partitions)
                return
        except psycopg.OperationalError as error:
            if waited % 5 < 0.25:
                log.info("waiting for the database: %s", str(error).strip().splitlines()[0])
            time.sleep(0.25)
            waited += 0.25


def supervise(branch: Branch, config: configuration.Config) -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    curve.check_server(config)
    conninfo = config.conninfo()
    prepare_database(config.owner_conninfo(), branch.name, config.partition_count(branch.name), config.app_role())
    specs = [
        ChildSpec(f"shard-{i}", partial(run_shard, branch, config, conninfo, i))
        for i in range(config.shard_count(branch.name))
    ]
    policy = RestartPolicy(intensity=config.restart_intensity, period=config.restart_period)
    return Supervisor(branch.name, specs, policy, config.endpoint(branch.name)).run()


def main(branch: Branch) -> int:
    return program.run(branch.name, partial(supervise, branch))
