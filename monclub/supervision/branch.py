"""A branch supervisor program (Réunions, Prêts): a program of the supervisord tree that owns one
branch's shards.

It waits for the database, migrates the schema, checks the branch's shard count, then supervises
one forked process per shard (one_for_one). Exit codes: see monclub.supervision.supervisor.
"""

import logging
import signal
import sys
import time
from functools import partial
from typing import Callable

import psycopg

from monclub import config as configuration
from monclub.db import connect
from monclub.db.migrate import check_shards, migrate
from monclub.errors import ConfigError
from monclub.server import serve
from monclub.shard import Shard
from monclub.supervision.policy import RestartPolicy
from monclub.supervision.process import die_with_parent, set_title, setup_logging
from monclub.supervision.starts import record_start
from monclub.supervision.supervisor import EXIT_CONFIG, ChildSpec, Supervisor

log = logging.getLogger("monclub.branch")
MakeShard = Callable[[configuration.Config, str, int], Shard]


def run_shard(branch: str, make_shard: MakeShard, config: configuration.Config, conninfo: str, index: int) -> int:
    place = f"{branch}/shard-{index}"
    set_title(place)
    setup_logging(place)
    return serve(config.endpoint(branch, index), make_shard(config, conninfo, index), config.hwm)


def prepare_database(conninfo: str, branch: str, shards: int) -> None:
    """Wait for PostgreSQL (a supervisor that cannot reach it waits, it does not crash-loop),
    then migrate and check the shard count."""
    waited = 0.0
    while True:
        try:
            with connect(conninfo, autocommit=True) as conn:
                applied = migrate(conn)
                if applied:
                    log.info("schema migrated: %s", ", ".join(applied))
                check_shards(conn, branch, shards)
                return
        except psycopg.OperationalError as error:
            if waited % 5 < 0.25:
                log.info("waiting for the database: %s", str(error).strip().splitlines()[0])
            time.sleep(0.25)
            waited += 0.25


def main(branch: str, shards: Callable[[configuration.Config], int], make_shard: MakeShard) -> int:
    set_title(branch)
    setup_logging(branch)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    die_with_parent(signal.SIGTERM)
    try:
        config = configuration.load()
        conninfo = config.conninfo()
        config.prepare_dirs()
        record_start(config.run_dir, branch)
        prepare_database(conninfo, branch, shards(config))
    except ConfigError as error:
        log.error("configuration error: %s", error)
        return EXIT_CONFIG
    specs = [ChildSpec(f"shard-{i}", partial(run_shard, branch, make_shard, config, conninfo, i))
             for i in range(shards(config))]
    policy = RestartPolicy(intensity=config.restart_intensity, period=config.restart_period)
    return Supervisor(branch, specs, policy, config.endpoint(branch)).run()
