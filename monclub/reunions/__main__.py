"""The Réunions supervisor: a program of the supervisord tree that owns the séance shards.

It waits for the database, migrates the schema, checks the shard count, then supervises one
forked process per shard (one_for_one). Exit codes: see monclub.supervision.supervisor.
"""

import logging
import signal
import sys
import time
from functools import partial

import psycopg

from monclub import config as configuration
from monclub.db import connect
from monclub.db.migrate import check_shards, migrate
from monclub.errors import ConfigError
from monclub.reunions.shard import seance_shard
from monclub.server import serve
from monclub.supervision.policy import RestartPolicy
from monclub.supervision.process import die_with_parent, set_title, setup_logging
from monclub.supervision.starts import record_start
from monclub.supervision.supervisor import EXIT_CONFIG, ChildSpec, Supervisor

log = logging.getLogger("monclub.reunions")


def run_shard(config: configuration.Config, conninfo: str, index: int) -> int:
    place = f"reunions/shard-{index}"
    set_title(place)
    setup_logging(place)
    return serve(config.endpoint("reunions", index), seance_shard(index, config.shards, conninfo, config.fault))


def prepare_database(conninfo: str, shards: int) -> None:
    """Wait for PostgreSQL (a supervisor that cannot reach it waits, it does not crash-loop),
    then migrate and check the shard count."""
    waited = 0.0
    while True:
        try:
            with connect(conninfo, autocommit=True) as conn:
                applied = migrate(conn)
                if applied:
                    log.info("schema migrated: %s", ", ".join(applied))
                check_shards(conn, "reunions", shards)
                return
        except psycopg.OperationalError as error:
            if waited % 5 < 0.25:
                log.info("waiting for the database: %s", str(error).strip().splitlines()[0])
            time.sleep(0.25)
            waited += 0.25


def main() -> int:
    set_title("reunions")
    setup_logging("reunions")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    die_with_parent(signal.SIGTERM)
    try:
        config = configuration.load()
        conninfo = config.conninfo()
        config.prepare_dirs()
        record_start(config.run_dir, "reunions")
        prepare_database(conninfo, config.shards)
    except ConfigError as error:
        log.error("configuration error: %s", error)
        return EXIT_CONFIG
    specs = [ChildSpec(f"shard-{i}", partial(run_shard, config, conninfo, i)) for i in range(config.shards)]
    policy = RestartPolicy(intensity=config.restart_intensity, period=config.restart_period)
    return Supervisor("reunions", specs, policy, config.endpoint("reunions")).run()


if __name__ == "__main__":
    sys.exit(main())
