"""The `postgres` program of the supervisord tree: initialise the embedded cluster if needed,
wait for the backends of a killed predecessor to leave, then become the PostgreSQL server (exec,
so that supervisord supervises the postmaster itself)."""

import logging
import os
import signal
import sys

from monclub import config as configuration
from monclub.errors import ConfigError
from monclub.postgres.cluster import Cluster
from monclub.supervision.process import die_with_parent, setup_logging
from monclub.supervision.starts import record_start
from monclub.supervision.supervisor import EXIT_CONFIG

log = logging.getLogger("monclub.postgres")


def main() -> int:
    setup_logging("postgres")
    try:
        config = configuration.load()
        if not config.embedded:
            log.error("an external database is configured: the embedded cluster is not needed")
            return EXIT_CONFIG
        cluster = Cluster.for_home(config.home)
        if cluster.ensure_initialized():
            log.info("initialised a new cluster in %s", cluster.directory)
    except ConfigError as error:
        log.error("configuration error: %s", error)
        return EXIT_CONFIG
    stale = cluster.wait_for_stale_processes()
    if stale:
        log.warning("processes %s still use %s; starting anyway", stale, cluster.data)
    record_start(config.run_dir, "postgres")
    argv = cluster.server_argv(config.postgres_settings)
    os.chdir(cluster.directory)
    cluster.demote()
    die_with_parent(signal.SIGINT)
    os.execv(argv[0], argv)


if __name__ == "__main__":
    sys.exit(main())
