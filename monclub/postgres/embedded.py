"""Where the embedded cluster lives, how it is initialised and how its server is run.

PostgreSQL refuses to run as root, so as root the cluster belongs to the unprivileged `postgres`
user, and every directory above it must be traversable by that user. When the state directory
sits under a directory only root can enter (a `mktemp -d` clone, CI), the cluster goes to
/var/lib/monclub/clusters/<hash of the state directory> instead, which that user can always reach.
Such a cluster records its state directory in a file STATE_DIRECTORY, so that once the checkout
is deleted `monclub clusters --remove-orphans` can find and remove it.
"""

import hashlib
import os
import pwd
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from monclub.errors import ConfigError

FALLBACK_ROOT = Path("/var/lib/monclub/clusters")
DATABASE = "monclub"
ROLE = "monclub"  # the bootstrap superuser: owns the database and its tables, runs the migrations
APP_ROLE = "monclub_app"  # what the programs connect as: created and granted by the migrations
_SOCKET_PATH_MAX = 100
_MARKER = "initialized"
STATE_DIRECTORY = "state_directory"
_SYNCFS_SINCE = 14


# How soon the server ends the session of a peer that is gone without a word (a killed or cut-off
# host): by default the OS's keepalives would keep it, and its advisory locks, about two hours.
# They act on tcp sessions only (the embedded server listens on its unix socket alone; a server
# reached over tcp, as in the multi-host tests, or an external one, should have them: docs/cluster.md).
DEAD_PEER_SETTINGS = {
    "tcp_keepalives_idle": "5",  # s of silence before the first probe
    "tcp_keepalives_interval": "2",  # s between probes
    "tcp_keepalives_count": "3",  # unanswered probes: an idle dead peer is dropped after 5 + 3 × 2 = 11 s
    "tcp_user_timeout": "6000",  # ms a sent byte may stay unacknowledged before the session is dropped
    "client_connection_check_interval": "2000",  # ms: a long query notices that its client is gone
}


def postgres_bindir() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parts[-3]))
    if not candidates:
        raise ConfigError(
            "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin: install them "
            "(apt-get install postgresql), or set MONCLUB_DATABASE_URL to an existing server"
        )
    return candidates[-1].parent


def run_user() -> pwd.struct_passwd:
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise ConfigError(
            "running as root, PostgreSQL needs an unprivileged user and 'postgres' does not exist: "
            "create it (useradd --system postgres) or run MonClub as a normal user"
        ) from None


def can_traverse(path: Path, user: pwd.struct_passwd) -> bool:
    """True when `user` may enter every existing directory from / down to `path`."""
    groups = set(os.getgrouplist(user.pw_name, user.pw_gid))
    for directory in [*reversed(path.parents), path]:
        if not directory.exists():
            break
        st = directory.stat()
        if st.st_uid == user.pw_uid:
            allowed = st.st_mode & 0o100
        elif st.st_gid in groups:
            allowed = st.st_mode & 0o010
        else:
            allowed = st.st_mode & 0o001
        if not allowed:
            return False
    return True


@dataclass(frozen=True)
class Cluster:
    directory: Path
    user: pwd.struct_passwd
    home: Path | None = None

    @classmethod
    def for_home(cls, home: Path) -> "Cluster":
        user = run_user()
        preferred = home / "postgres"
        reachable = can_traverse(home.parent, user) and len(str(preferred / ".s.PGSQL.5432")) <= _SOCKET_PATH_MAX
        if reachable or os.geteuid() != 0:
            if not reachable:
                raise ConfigError(
                    f"the cluster path {preferred} is too long for a unix socket: set a shorter MONCLUB_HOME"
                )
            return cls(preferred, user)
        digest = hashlib.sha256(str(home).encode()).hexdigest()[:16]
        return cls(FALLBACK_ROOT / digest, user, home)

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def conninfo(self) -> str:
        """The application's connection (a plain role: no superuser, owns nothing)."""
        return f"host={self.directory} port=5432 dbname={DATABASE} user={APP_ROLE}"

    def owner_conninfo(self) -> str:
        return f"host={self.directory} port=5432 dbname={DATABASE} user={ROLE}"

    def _as_user(self) -> dict:
        if os.geteuid() != 0:
            return {}
        return {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}

    def _prepare_directory(self) -> None:
        if self.directory.parent == FALLBACK_ROOT:
            FALLBACK_ROOT.mkdir(parents=True, exist_ok=True)
            for level in (FALLBACK_ROOT, FALLBACK_ROOT.parent):
                level.chmod(0o711)
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            self.directory.parent.chmod(self.directory.parent.stat().st_mode | 0o111)
            os.chown(self.directory, self.user.pw_uid, self.user.pw_gid)
        self.directory.chmod(0o700)
        if self.home is not None:
            (self.directory / STATE_DIRECTORY).write_text(f"{self.home}\n")

    def ensure_initialized(self, sync: bool = True) -> bool:
        """initdb and create the database once; returns True when it did so now."""
        self._prepare_directory()
        if (self.directory / _MARKER).exists():
            return False
        if self.data.exists():
            shutil.rmtree(self.data)
        bindir = postgres_bindir()
        initdb = [str(bindir / "initdb"), "-D", str(self.data), "-U", ROLE, "--auth=trust", "-E", "UTF8", "--no-locale"]
        self._run([*initdb, *([] if sync else ["--no-sync"])])
        self.single_user(f"CREATE DATABASE {DATABASE};\n")
        (self.directory / _MARKER).write_text(f"{time.time()}\n")
        return True

    def single_user(self, statements: str, database: str = "postgres") -> None:
        """Run `statements` in single-user mode, with the server stopped (no connection needed:
        e.g. give the owner a password before a server that allows only password logins starts)."""
        argv = [str(postgres_bindir() / "postgres"), "--single", "-D", str(self.data), "-c", "listen_addresses="]
        self._run([*argv, database], stdin=statements)

    def _run(self, argv: list[str], stdin: str | None = None) -> None:
        done = subprocess.run(argv, input=stdin, capture_output=True, text=True, cwd=self.directory, **self._as_user())
        if done.returncode != 0:
            raise ConfigError(f"{Path(argv[0]).name} failed in {self.directory}: {done.stderr.strip()[-500:]}")

    def server_argv(self, settings: dict) -> list[str]:
        bindir = postgres_bindir()
        base = {
            "listen_addresses": "",
            "unix_socket_permissions": "0700",
            "max_connections": "200",
            "cluster_name": "monclub",
            **DEAD_PEER_SETTINGS,
        }
        if int(bindir.parts[-2]) >= _SYNCFS_SINCE:
            # After a crash, the server first fsyncs every file of the data directory, one by one:
            # most of its restart time (1.7 s of 2 s on a fresh cluster). syncfs syncs the file
            # system in one call, with the same durability.
            base["recovery_init_sync_method"] = "syncfs"
        argv = [str(bindir / "postgres"), "-D", str(self.data), "-k", str(self.directory)]
        for key, value in {**base, **settings}.items():
            argv += ["-c", f"{key}={value}"]
        return argv

    def server_process(self, settings: dict) -> subprocess.Popen:
        """Start the server as a child logging to server.log (the test suite's way; the daemon execs)."""
        with open(self.directory / "server.log", "ab") as log:
            return subprocess.Popen(
                self.server_argv(settings), cwd=self.directory, stdout=log, stderr=log, **self._as_user()
            )

    def stale_processes(self) -> list[int]:
        """Pids still working in the data directory: after a kill -9 of the postmaster its
        backends hold the shared memory for a moment, and a new postmaster refuses to start."""
        data = str(self.data.resolve())
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if os.readlink(entry / "cwd") == data:
                        pids.append(int(entry.name))
                except OSError:
                    continue
        return pids

    def wait_for_stale_processes(self, timeout: float = 30.0) -> list[int]:
        deadline = time.monotonic() + timeout
        while (pids := self.stale_processes()) and time.monotonic() < deadline:
            time.sleep(0.05)
        return pids

    def demote(self) -> None:
        """Become the cluster's user in this process (before exec'ing the server)."""
        if os.geteuid() != 0:
            return
        os.setgroups(os.getgrouplist(self.user.pw_name, self.user.pw_gid))
        os.setgid(self.user.pw_gid)
        os.setuid(self.user.pw_uid)

    def destroy(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def fallback_clusters(root: Path = FALLBACK_ROOT) -> list[dict]:
    """The clusters under `root`, each with the state directory it serves (None when it predates
    that record) and whether it is an orphan: its state directory is gone, and no process runs in it."""
    found = []
    for directory in sorted(root.iterdir()) if root.is_dir() else []:
        record = directory / STATE_DIRECTORY
        home = Path(record.read_text().strip()) if record.exists() else None
        running = bool(Cluster(directory, run_user()).stale_processes())
        orphan = home is not None and not home.exists() and not running
        found.append({"directory": str(directory), "state_directory": home and str(home), "orphan": orphan})
    return found


def remove_orphans(root: Path = FALLBACK_ROOT) -> list[str]:
    """Remove the orphan clusters under `root`; the directories removed."""
    removed = [found["directory"] for found in fallback_clusters(root) if found["orphan"]]
    for directory in removed:
        shutil.rmtree(directory)
    return removed
