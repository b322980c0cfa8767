"""The three-server demo running: three etcd members, three Patroni and the PostgreSQL each
starts, on loopback, as the servers' unprivileged user (PostgreSQL refuses root, and Patroni
runs as the user that owns its data directory). Every process is started here and stopped by
its pid (Patroni first, which stops its PostgreSQL; then any server left in a data directory;
then etcd). What Patroni decides is read from its REST API (`/cluster`)."""

import contextlib
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from monclub.db import connect, scalar
from monclub.db.migrate import migrate
from monclub.errors import ConfigError
from monclub.postgres.embedded import APP_ROLE, ROLE, Cluster, can_traverse, postgres_bindir, run_user
from monclub.postgres.ha import host, layout, rest

PATRONI_VENV = Path("/var/lib/monclub/patroni-venv")  # scripts/install makes it as root
STARTUP_SECONDS = 120.0
STOP_SECONDS = 60.0


def patroni_command(user) -> list[str]:
    """How `user` runs Patroni: with this interpreter when it may (not when it lives under a
    directory only root enters, as pyenv's under /root), else with the virtualenv scripts/install
    made for it; ConfigError saying what to install when neither can."""
    spec = importlib.util.find_spec("patroni")
    if spec is None or spec.origin is None:
        raise ConfigError("Patroni is not installed: run scripts/install --ha (Patroni and etcd-server)")
    mine = Path(os.path.realpath(sys.executable))
    if can_traverse(mine, user) and can_traverse(Path(spec.origin), user):
        return [sys.executable, "-m", "patroni"]
    if (PATRONI_VENV / ".installed").exists():
        return [str(PATRONI_VENV / "bin" / "python"), "-m", "patroni"]
    raise ConfigError(
        f"the user {user.pw_name} that runs PostgreSQL cannot run this Python ({mine}); "
        f"run scripts/install --ha as root, which installs Patroni for it in {PATRONI_VENV}"
    )


def free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((layout.LOOPBACK, port))
        except OSError:
            return False
    return True


def free_base() -> int:
    """A base port whose twelve ports are all free (the default's, or one further up): for a
    demo beside another (a test's, a benchmark's)."""
    for base in range(layout.BASE_PORT, 60000, 100):
        if all(free(port) for port in layout.ports(base)):
            return base
    raise ConfigError("no free loopback ports for the demo")


def _wait(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            if found := condition():
                return found
        time.sleep(0.2)
    raise TimeoutError(f"no {what} within {seconds:.0f}s")


def here(member: layout.Member, start: Callable[[], subprocess.Popen]) -> subprocess.Popen:
    """Where the demo starts a member's process: on this host (every member on loopback)."""
    return start()


class Demo:
    """The demo in `directory` (kept across runs: its data, its ports and passwords). Its members
    are on loopback; or each at an address of its own (`addresses`), its processes started by
    `on_host` on that member's host (the tests' network namespaces), its servers letting in
    `network` (the hosts' subnet)."""

    def __init__(
        self,
        directory: Path,
        base: int = layout.BASE_PORT,
        addresses: list[str] | None = None,
        network: str = f"{layout.LOOPBACK}/32",
        on_host: Callable[[layout.Member, Callable[[], subprocess.Popen]], subprocess.Popen] = here,
    ):
        self.directory = directory
        self.user = run_user()
        self.members = layout.members(directory, base, addresses)
        self.base = base
        self.network = network
        self.on_host = on_host
        self.processes: dict[str, subprocess.Popen] = {}

    # -- what Patroni says -----------------------------------------------------------------

    @property
    def rest_urls(self) -> list[str]:
        return [member.rest_url for member in self.members]

    def cluster(self) -> dict:
        """Patroni's view (`/cluster` of the first member that answers)."""
        return rest.cluster(self.rest_urls)

    def settled(self) -> bool:
        """Every member back and following the primary (rest.settled); False when no Patroni answers."""
        return rest.ready(self.rest_urls, len(self.members))

    def primary(self) -> layout.Member | None:
        """The member whose Patroni says its PostgreSQL is the primary taking writes."""
        url = rest.primary(self.rest_urls)
        return next((member for member in self.members if member.rest_url == url), None)

    def sync_standby(self) -> str | None:
        roles = {m["name"]: m["role"] for m in self.cluster().get("members", [])}
        return next((name for name, role in roles.items() if role == "sync_standby"), None)

    def postmaster(self, member: layout.Member) -> int:
        """The pid of `member`'s running postmaster."""
        return host.postmaster(member.home)

    # -- start and stop --------------------------------------------------------------------

    def secrets(self) -> dict[str, str]:
        """The demo's passwords, made on its first start (0600, for the user who runs the demo)."""
        path = self.directory / "secrets.json"
        if not path.exists():
            made = {role: secrets.token_hex(16) for role in (ROLE, APP_ROLE, layout.REPLICATOR, layout.REWINDER)}
            path.touch(mode=0o600)
            path.write_text(json.dumps(made))
        return json.loads(path.read_text())

    def start(self) -> dict[str, str | list[str]]:
        """Start everything, wait for a primary and its synchronous standby, prepare MonClub's
        database and roles; database_url and owner_database_url."""
        if shutil.which("etcd") is None:
            raise ConfigError("no etcd command: run scripts/install --ha (it installs Debian's etcd-server)")
        printed = subprocess.run(["etcd", "--version"], capture_output=True, text=True, timeout=30).stdout
        if refused := layout.etcd_refusal(printed):
            raise ConfigError(f"the etcd on the PATH cannot serve: {refused}")
        patroni = patroni_command(self.user)
        busy = [port for port in layout.ports(self.base) if not free(port)]
        if busy:
            raise ConfigError(f"ports {busy} of the demo are in use: stop what holds them, or give another --base-port")
        self._prepare_directories()
        passwords = self.secrets()
        try:
            for member in self.members:
                self._spawn(f"etcd-{member.index}", member, layout.etcd_argv(member, self.members))
            for member in self.members:
                _wait(lambda m=member: rest.get(f"http://{m.address}:{m.etcd_client}/health")[1], 30, "etcd")
            for member in self.members:
                config = layout.patroni_config(member, self.members, postgres_bindir(), passwords, self.network)
                self._write(member.home / "patroni.yml", layout.patroni_file(config))
                self._spawn(f"patroni-{member.index}", member, [*patroni, str(member.home / "patroni.yml")])
            _wait(lambda: self.primary() and self.sync_standby(), STARTUP_SECONDS, "primary with a synchronous standby")
            urls = layout.urls(self.members, passwords)
            _prepare_database(str(urls["owner_database_url"]), passwords[APP_ROLE])
        except BaseException:
            self.stop()
            raise
        return urls

    def _prepare_directories(self) -> None:
        if not can_traverse(self.directory.parent, self.user):
            raise ConfigError(
                f"the user {self.user.pw_name} that runs PostgreSQL cannot enter {self.directory.parent}: "
                "choose a --directory it can reach (e.g. under /var/lib/monclub)"
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o711)
        for member in self.members:
            member.home.mkdir(exist_ok=True)
            if os.geteuid() == 0:
                os.chown(member.home, self.user.pw_uid, self.user.pw_gid)
            member.home.chmod(0o700)

    def _write(self, path: Path, text: str) -> None:
        path.touch(mode=0o600)
        path.write_text(text)
        if os.geteuid() == 0:
            os.chown(path, self.user.pw_uid, self.user.pw_gid)

    def _spawn(self, name: str, member: layout.Member, argv: list[str]) -> None:
        as_user: dict[str, Any] = {}
        if os.geteuid() == 0:
            as_user = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(member.home), "LANG": "C.UTF-8"}
        with open(member.home / f"{name.split('-')[0]}.log", "ab") as log:
            self.processes[name] = self.on_host(
                member,
                lambda: subprocess.Popen(
                    argv,
                    cwd=member.home,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    **as_user,
                ),
            )

    def revive(self, member: layout.Member) -> None:
        """Start `member`'s etcd and Patroni again, as `start` did, after its host died: etcd
        rejoins from its data, Patroni starts its PostgreSQL as a standby of the new primary
        (pg_rewind when its timeline forked)."""
        for name in (f"etcd-{member.index}", f"patroni-{member.index}"):
            self.processes.pop(name).wait(timeout=10)
        self._spawn(f"etcd-{member.index}", member, layout.etcd_argv(member, self.members))
        patroni = [*patroni_command(self.user), str(member.home / "patroni.yml")]
        self._spawn(f"patroni-{member.index}", member, patroni)

    def revive_dead(self) -> list[str]:
        """Start again every member whose etcd or Patroni has exited, any of its processes still
        running killed first (a host restarts whole); the names of those started again."""
        dead = [
            member
            for member in self.members
            if any(self.processes[f"{kind}-{member.index}"].poll() is not None for kind in ("etcd", "patroni"))
        ]
        for member in dead:
            for pid in host.working_in(member.home):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.revive(member)
        return [member.name for member in dead]

    def stop(self) -> None:
        """Stop what this demo started, by pid: each Patroni (which stops its PostgreSQL), any
        server still working in a data directory, then etcd."""
        patronis = [p for name, p in self.processes.items() if name.startswith("patroni")]
        etcds = [p for name, p in self.processes.items() if name.startswith("etcd")]
        _terminate(patronis)
        for member in self.members:
            leftover = Cluster(member.home, self.user).stale_processes()
            for pid in leftover:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        _terminate(etcds)
        self.processes.clear()


def _terminate(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _prepare_database(owner_url: str, app_password: str) -> None:
    """MonClub's database on the primary (replicated by Patroni to the others): created once,
    migrated by its owner, the programs' role given its password."""
    params = conninfo_to_dict(owner_url)
    with connect(make_conninfo("", **{**params, "dbname": "postgres"}), autocommit=True) as conn:
        if not scalar(conn, "SELECT count(*) FROM pg_database WHERE datname = %s", (params["dbname"],)):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(str(params["dbname"]))))
    with connect(owner_url, answer_timeout=None, autocommit=True) as conn:
        migrate(conn, APP_ROLE)
        conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(APP_ROLE), sql.Literal(app_password)))
