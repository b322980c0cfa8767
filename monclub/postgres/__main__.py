"""The `postgres` program of the supervisord tree: initialise the embedded cluster if needed,
wait for the backends of a killed predecessor to leave, then become the PostgreSQL server (exec,
so that supervisord supervises the postmaster itself)."""

import logging
import os
import signal
import sys

from monclub import config as configuration
from monclub.errors import ConfigError
from monclub.postgres.embedded import Cluster
from monclub.supervision import program
from monclub.supervision.process import die_with_parent

log = logging.getLogger("monclub.postgres")


def become_server(config: configuration.Config) -> int:
    if not config.embedded:
        raise ConfigError("an external database is configured: the embedded cluster is not needed")
    cluster = Cluster.for_home(config.home)
    if cluster.ensure_initialized():
        log.info("initialised a new cluster in %s", cluster.directory)
    stale = cluster.wait_for_stale_processes()
    if stale:
        log.warning("processes %s still use %s; starting anyway", stale, cluster.data)
    argv = cluster.server_argv(config.postgres_settings)
    os.chdir(cluster.directory)
    cluster.demote()
    die_with_parent(signal.SIGINT)
    os.execv(argv[0], argv)


if __name__ == "__main__":
    sys.exit(program.run("postgres", become_server, parent_signal=None))
