"""A branch supervisor program (Réunions, Prêts), and the shard program it forks.

The branch is a program of the supervisord tree that owns one branch's shards: it waits for the
database, migrates the schema, checks the branch's partition count, then supervises one forked
process per shard (one_for_one). Each shard process hosts the owners of its partitions
(monclub.cluster.partition.hosted) and serves them on its ROUTER socket. Exit codes: see
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
from monclub.cluster.directory import Directory
from monclub.cluster.membership import Membership, wanted
from monclub.cluster.nodes import join
from monclub.cluster.partition import hosted
from monclub.db import connect, open_ahead
from monclub.db.migrate import check_partitions, migrate
from monclub.shards.domain import Domain, place
from monclub.shards.host import ShardHost
from monclub.shards.memory import Residency
from monclub.shards.owner import Owner
from monclub.shards.server import serve
from monclub.shards.stats import Stats
from monclub.shards.store import PostgresStore
from monclub.shards.waker import RelayWaker
from monclub.supervision import program
from monclub.supervision.policy import RestartPolicy
from monclub.supervision.process import set_title, setup_logging
from monclub.supervision.supervisor import ChildSpec, Supervisor
from monclub.wire import curve

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
    stats: Stats | None = None,
    residency: Residency | None = None,
) -> Owner:
    """The owner of `partition` on its PostgreSQL store, for the shard process `shard` of `node`
    listening at `endpoint` (what the directory records), its memory bounded by `residency`."""
    shard = shard or place(domain.branch, partition)
    open_store = partial(store.open, conninfo, shard, partition, fault != "no_fence", node, endpoint)
    return Owner(domain, partition, open_store, fault, stats=stats, residency=residency)


def shard_host(branch: Branch, config: configuration.Config, conninfo: str, index: int) -> ShardHost:
    """Shard process `index` of this node: it hosts the partitions the live nodes assign it
    (monclub.cluster.membership), starting with those it hosts on a single node."""
    domain = branch.domain(config)
    name = place(branch.name, index)
    endpoint = config.endpoint(branch.name, index)
    partitions, shards = config.partition_count(branch.name), config.shard_count(branch.name)
    membership = Membership(conninfo, config.node)
    stats = Stats()
    max_loaded, idle = config.branch_setting(branch.name, "max_loaded"), config.branch_setting(branch.name, "idle")
    residency = Residency(max_loaded, idle, unloaded=stats.unloaded)

    def make_owner(partition: int) -> Owner:
        return postgres_owner(
            domain, branch.store, partition, conninfo, config.fault, config.node, name, endpoint, stats, residency
        )

    def assignment() -> set[int] | None:
        nodes = membership.live_nodes()
        return None if nodes is None else wanted(branch.name, partitions, shards, index, config.node, nodes)

    first = hosted(partitions, shards, index)
    directory = Directory(conninfo, branch.name)
    waker = RelayWaker(conninfo)
    return ShardHost(
        domain, name, endpoint, partitions, make_owner, assignment, directory, first, stats, waker, residency
    )


def fresh_command(branch: str, index: int) -> list[str]:
    """The command line of a fresh shard process (monclub.shards.child), for a `replace`."""
    return [sys.executable, "-m", "monclub.shards.child", branch, str(index)]


def run_shard(branch: Branch, config: configuration.Config, conninfo: str, index: int) -> int:
    """The program of one shard process, forked by its branch supervisor."""
    name = place(branch.name, index)
    set_title(name)
    setup_logging(name)
    return serve(config.endpoint(branch.name, index), shard_host(branch, config, conninfo, index), config)


def prepare_spare(branch: Branch, config: configuration.Config, conninfo: str) -> None:
    """What a spare shard process does before it knows which shard it becomes: open the sessions
    the busiest shard's first tick takes (one per partition it hosts, and the live nodes' one),
    each warmed by the branch's store. Its title in ps says when they are open (`reunions/spare ready`)."""
    set_title(f"{branch.name}/spare connecting")
    partitions, shards = config.partition_count(branch.name), config.shard_count(branch.name)
    busiest = max(len(hosted(partitions, shards, index)) for index in range(shards))
    opened = open_ahead(conninfo, busiest + 1, branch.store.warm, autocommit=True)
    set_title(f"{branch.name}/spare ready")
    log.info("%s: the spare is ready, %d sessions open", branch.name, opened)


def prepare_database(
    conninfo: str, branch: str, partitions: int, app_role: str | None = None, node: str | None = None
) -> None:
    """Wait for PostgreSQL (a supervisor that cannot reach it waits, it does not crash-loop),
    then migrate as the owner of the schema (`conninfo`), grant `app_role`, check the partition
    count, and let `node` join the cluster (no longer draining)."""
    waited = 0.0
    while True:
        try:
            with connect(conninfo, answer_timeout=None, autocommit=True) as conn:
                applied = migrate(conn, app_role)
                if applied:
                    log.info("schema migrated: %s", ", ".join(applied))
                check_partitions(conn, branch, partitions)
                if node is not None:
                    join(conn, node)
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
    partitions = config.partition_count(branch.name)
    prepare_database(config.owner_conninfo(), branch.name, partitions, config.app_role(), config.node)
    specs = [
        ChildSpec(f"shard-{i}", partial(run_shard, branch, config, conninfo, i), fresh_command(branch.name, i))
        for i in range(config.shard_count(branch.name))
    ]
    policy = RestartPolicy(intensity=config.restart_intensity, period=config.restart_period)
    spare = partial(prepare_spare, branch, config, conninfo)
    return Supervisor(branch.name, specs, policy, config.endpoint(branch.name), spare).run()


def main(branch: Branch) -> int:
    return program.run(branch.name, partial(supervise, branch))
