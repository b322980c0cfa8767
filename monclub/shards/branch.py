"""A branch supervisor program (Réunions, Prêts), and the shard program it forks.

The branch is a program of the supervisord tree that owns one branch's shards: it waits for the
database, migrates the schema, checks the branch's shard count, then supervises one forked process
per shard (one_for_one). Each shard process serves its owner on its ROUTER socket. Exit codes: see
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
from monclub.db.migrate import check_shards, migrate
from monclub.shards.owner import Domain, Owner, place
from monclub.shards.server import serve
from monclub.shards.store import PostgresStore
from monclub.supervision.policy import RestartPolicy
from monclub.supervision.process import set_title, setup_logging
from monclub.supervision.supervisor import ChildSpec, Supervisor

log = logging.getLogger("monclub.branch")


@dataclass(frozen=True)
class Branch:
    """A branch of shards: its name, how many shards the configuration gives it, and how to make
    the owner of shard `index` on the database at `conninfo`."""

    name: str
    shards: Callable[[configuration.Config], int]
    make_owner: Callable[[configuration.Config, str, int], Owner]


def postgres_owner(
    domain: Domain,
    store: type[PostgresStore],
    index: int,
    shards: int,
    conninfo: str,
    fault: str | None,
    node: str | None = None,
) -> Owner:
    """The owner of shard `index` of this node, on its PostgreSQL store."""
    open_store = partial(store.open, conninfo, place(domain.branch, index), index, fault != "no_fence", node)
    return Owner(domain, index, shards, open_store, fault)


def run_shard(branch: Branch, config: configuration.Config, conninfo: str, index: int) -> int:
    """The program of one shard process, forked by its branch supervisor."""
    name = place(branch.name, index)
    set_title(name)
    setup_logging(name)
    return serve(config.endpoint(branch.name, index), branch.make_owner(config, conninfo, index), config)


def prepare_database(conninfo: str, branch: str, shards: int, app_role: str | None = None) -> None:
    """Wait for PostgreSQL (a supervisor that cannot reach it waits, it does not crash-loop),
    then migrate as the owner of the schema (`conninfo`), grant `app_role`, and check the shard count."""
    waited = 0.0
    while True:
        try:
            with connect(conninfo, autocommit=True) as conn:
                applied = migrate(conn, app_role)
                if applied:
                    log.info("schema migrated: %s", ", ".join(applied))
                check_shards(conn, branch, shards)
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
    prepare_database(config.owner_conninfo(), branch.name, branch.shards(config), config.app_role())
    specs = [
        ChildSpec(f"shard-{i}", partial(run_shard, branch, config, conninfo, i)) for i in range(branch.shards(config))
    ]
    policy = RestartPolicy(intensity=config.restart_intensity, period=config.restart_period)
    return Supervisor(branch.name, specs, policy, config.endpoint(branch.name)).run()


def main(branch: Branch) -> int:
    return program.run(branch.name, partial(supervise, branch))
