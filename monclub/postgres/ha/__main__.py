"""scripts/ha-demo: three PostgreSQL servers under Patroni and three etcd members on loopback,
until Ctrl-C (or SIGTERM). It writes the multi-host URLs into a config file of the demo (the
passwords stay out of the terminal), and prints how to point MonClub at it and what to kill.
While it runs, its pid is in `<directory>/demo.pid`, and SIGUSR1 makes it start again every
member whose host was killed (`monclub drill database` asks so, as an operator would restart
the machine: monclub/postgres/ha/host.py)."""

import argparse
import json
import os
import queue
import signal
import sys
from pathlib import Path

from monclub import config as configuration
from monclub.db.secrets import redact
from monclub.errors import ConfigError
from monclub.postgres.embedded import FALLBACK_ROOT, can_traverse, run_user
from monclub.postgres.ha import host, layout
from monclub.postgres.ha.processes import Demo


def default_directory() -> Path:
    """The state directory's `ha-demo`, or /var/lib/monclub/ha-demo when the servers' user cannot
    enter it (a checkout under a directory only root enters)."""
    home = configuration.load().home
    if can_traverse(home, run_user()):
        return home / "ha-demo"
    return FALLBACK_ROOT.parent / "ha-demo"


def write_config(directory: Path, urls: dict[str, str | list[str]]) -> Path:
    """A MonClub config file naming the demo's servers (0600: it holds the passwords). Its values
    are written as JSON strings and arrays, which TOML reads alike."""
    path = directory / "monclub.toml"
    path.touch(mode=0o600)
    path.write_text("".join(f"{key} = {json.dumps(value)}\n" for key, value in urls.items()))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/ha-demo", description=__doc__)
    parser.add_argument("--directory", type=Path, help="where the demo keeps its servers (kept across runs)")
    parser.add_argument("--base-port", type=int, default=layout.BASE_PORT, help="first of the 4 × 3 loopback ports")
    args = parser.parse_args(argv)
    asked: queue.SimpleQueue[str] = queue.SimpleQueue()  # what the signals ask, in order (safe in a handler)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: asked.put("stop"))
    try:
        demo = Demo((args.directory or default_directory()).absolute(), args.base_port)
        urls = demo.start()
    except (ConfigError, TimeoutError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2 if isinstance(error, ConfigError) else 1
    try:
        config = write_config(demo.directory, urls)
        primary = demo.primary()
        print(f"three PostgreSQL servers under Patroni, synchronous; primary {primary and primary.name}")
        database_url = str(urls["database_url"])
        print(f"database_url = {redact(database_url, database_url)}")
        print(f"MonClub on it: MONCLUB_CONFIG={config} scripts/start   (the URLs with their passwords are there)")
        for member in demo.members:
            where = f"PostgreSQL {member.postgres}, Patroni {member.rest_url}/cluster, etcd {member.etcd_client}"
            print(f"  {member.name}: {where}")
        if primary is not None:
            print(f"kill the primary's postgres and watch the club carry on: kill -9 {demo.postmaster(primary)}")
            print(f"or move it, planned: MONCLUB_CONFIG={config} monclub database switchover")
        host.write_pid(demo.directory)
        signal.signal(signal.SIGUSR1, lambda *_: asked.put("revive"))
        print(f"ready (pid {os.getpid()}); Ctrl-C stops the demo", flush=True)
        while asked.get() == "revive":
            print(f"started again: {', '.join(demo.revive_dead()) or 'nothing (no member was dead)'}", flush=True)
    finally:
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)
        host.remove_pid(demo.directory)
        demo.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
