"""Configuration: the config file, then environment variables, then defaults.

The file is $MONCLUB_CONFIG, else <checkout>/config/monclub.toml. Environment variables win over it:
MONCLUB_HOME (state directory, default <checkout>/.monclub), MONCLUB_DATABASE_URL (an external
PostgreSQL, as the application's role; unset means the embedded cluster), MONCLUB_OWNER_DATABASE_URL
(the same database as the role that owns the schema and runs the migrations), MONCLUB_CLIENT_KEY,
and each branch's `<prefix>SHARDS` and `<prefix>PARTITIONS` (its prefix: monclub.registry).
"""

import getpass
import ipaddress
import os
import re
import socket
import tomllib
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path

import psycopg.conninfo

import monclub
from monclub import registry
from monclub.config import branches, club
from monclub.config.checks import http_urls, positive_float, positive_int
from monclub.db import hosts
from monclub.db.secrets import redact
from monclub.errors import ConfigError
from monclub.wire import keys

# From the package's __init__, which stays in the checkout when the package runs from the compiled
# build's copy (monclub/compiled.py).
CHECKOUT = Path(monclub.__file__).resolve().parents[1]
_IPC_PATH_MAX = 100


@dataclass(frozen=True)
class Config:
    home: Path
    database_url: str | None = None
    owner_url: str | None = None
    patroni_urls: tuple[str, ...] = ()  # each database server's Patroni REST API (monclub database switchover)
    shards: int = 4
    partitions: int = 16
    tcp: str | None = None
    curve: bool = False
    server_key: Path | None = None
    client_key: Path | None = None
    restart_intensity: int = 5
    restart_period: float = 10.0
    attempt_timeout: float = 1.5
    deadline: float = 15.0
    postgres_settings: dict = field(default_factory=dict)
    events_retention: float = 86400.0
    requests_retention: float = 86400.0
    history_keep: int = 0  # months of the archive kept before this one; 0: forever (monclub.events.archive)
    smtp_host: str | None = None
    smtp_from: str = "monclub@localhost"
    fault: str | None = None
    pret_shards: int = 2
    pret_partitions: int = 8
    pret_jour_seconds: float = 86400.0
    pret_jours: int = 14
    relance_seconds: float = 86400.0
    relances_max: int = 3
    max_loaded: int = 100_000  # aggregates kept loaded per shard process, unloaded when idle (monclub.shards.memory)
    idle: float = 900.0
    pret_max_loaded: int = 100_000
    pret_idle: float = 900.0
    hwm: int = 1000
    node: str = field(default_factory=socket.gethostname)
    web: dict = field(default_factory=dict)
    branches: dict[str, dict] = field(default_factory=dict)
    timezone: str | None = None  # [club] timezone, an IANA name; None: the machine's (monclub.config.club)

    @property
    def zone(self) -> tzinfo | None:
        return club.zone(self.timezone)

    @property
    def loopback(self) -> bool:
        """Whether the tcp host of the shards (if any) is a loopback address."""
        return _loopback(self.tcp)

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def log_dir(self) -> Path:
        return self.home / "log"

    def prepare_dirs(self) -> None:
        """The state directory stays enterable (the embedded cluster's user may live below it);
        what holds sockets and logs is private."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.home.chmod(0o711)
        for private in (self.run_dir, self.log_dir):
            private.mkdir(exist_ok=True)
            private.chmod(0o700)

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    def conninfo(self) -> str:
        if self.database_url:
            return self.database_url
        from monclub.postgres.embedded import Cluster

        return Cluster.for_home(self.home).conninfo()

    def owner_conninfo(self) -> str:
        """The role that owns the schema: migrations only. With an external database and no owner
        URL, the role of database_url (which then owns the tables, as before this setting existed)."""
        if self.database_url:
            return self.owner_url or self.database_url
        from monclub.postgres.embedded import Cluster

        return Cluster.for_home(self.home).owner_conninfo()

    def app_role(self) -> str:
        """The role the programs connect as, which the migrations grant what the programs use."""
        if self.database_url:
            return _role_of(self.database_url)
        from monclub.postgres.embedded import APP_ROLE

        return APP_ROLE

    def partition_count(self, branch: str) -> int:
        """The branch's partitions (fixed when the database is created)."""
        return self.branch_setting(branch, "partitions")

    def shard_count(self, branch: str) -> int:
        """The branch's shard processes on this node."""
        return self.branch_setting(branch, "shards")

    def branch_setting(self, branch: str, key: str):
        """A setting of the branch's section (`_BRANCH_SETTINGS`); a later branch's are in
        `branches`, or its defaults when this configuration was made without it."""
        if branch in branches.ATTRIBUTES:
            return getattr(self, branches.ATTRIBUTES[branch][key])
        return (self.branches.get(branch) or branches.defaults(registry.branch(branch)))[key]

    def endpoint(self, name: str, index: int | None = None) -> str:
        """The ZeroMQ endpoint of a shard (index given) or of a supervisor's control socket."""
        if self.tcp and index is not None:
            host, port = self.tcp.rsplit(":", 1)
            return f"tcp://{host}:{int(port) + registry.TCP_OFFSETS[name] + index}"
        leaf = name if index is None else f"{name}-{index}"
        path = self.run_dir / f"{leaf}.sock"
        if len(str(path)) > _IPC_PATH_MAX:
            raise ConfigError(
                f"ipc socket path {path} is longer than {_IPC_PATH_MAX} bytes: "
                "set MONCLUB_HOME to a shorter directory, or tcp in the [reunions] section of the config"
            )
        return f"ipc://{path}"

    def service_endpoint(self, name: str) -> str:
        """The ZeroMQ endpoint of a service without shards (accueil, replay, the bus's subscribers):
        ipc, or tcp beside the shards' when `[reunions] tcp` is set."""
        return self.endpoint(name, 0) if self.tcp else self.endpoint(name)


def file_path(env=None) -> Path:
    """The configuration file read (it may not exist): $MONCLUB_CONFIG, else the checkout's."""
    env = os.environ if env is None else env
    return Path(env.get("MONCLUB_CONFIG") or CHECKOUT / "config" / "monclub.toml")


def _read_file(env) -> dict:
    path = file_path(env)
    if not path.exists():
        if env.get("MONCLUB_CONFIG"):
            raise ConfigError(f"MONCLUB_CONFIG names {path}, which does not exist")
        return {}
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: {error}") from None


def _loopback(tcp: str | None) -> bool:
    if tcp is None:
        return True
    host = tcp.rpartition(":")[0]
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _tcp(value: str | None) -> str | None:
    """host:port of the shards; a host beyond loopback turns CURVE on (see monclub.wire.curve)."""
    if value is None:
        return None
    host, _, port = str(value).rpartition(":")
    if not re.fullmatch(r"[A-Za-z0-9.-]+", host) or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(
            f'reunions.tcp = {value!r}: give host:port, e.g. "127.0.0.1:7100" (loopback), or the address '
            'of an interface such as "192.168.1.10:7100" or "0.0.0.0:7100" (needs `monclub keys init`)'
        )
    return value


def _database_url(value: str | None, name: str = "database_url") -> str | None:
    """Refuse a malformed URL here, where the error can be shown without its password, and one
    whose several hosts could land a session on a standby (monclub.db.hosts)."""
    if not value:
        return None
    try:
        params = psycopg.conninfo.conninfo_to_dict(value)
    except psycopg.Error as error:
        raise ConfigError(f"{name} is not a valid PostgreSQL URL: {redact(str(error), value)}") from None
    if refused := hosts.refusal(params):
        raise ConfigError(f"{name}: {refused}")
    return value


def _owner_url(value: str | None, database_url: str | None) -> str | None:
    owner_url = _database_url(value, "owner_database_url")
    if owner_url and not database_url:
        raise ConfigError(
            "owner_database_url is set without database_url: the embedded PostgreSQL has its own owner role; "
            "set both (an external database) or neither"
        )
    return owner_url


def _role_of(conninfo: str) -> str:
    """The role a connection string logs in as, defaulted as libpq does (PGUSER, then the OS user)."""
    return str(psycopg.conninfo.conninfo_to_dict(conninfo).get("user") or os.environ.get("PGUSER") or getpass.getuser())


_UNIX_SOCKET_ONLY = ("listen_addresses", "unix_socket_directories", "unix_socket_permissions")


def _postgres_settings(settings: dict) -> dict:
    """The embedded cluster trusts whoever reaches its 0700 unix socket: that socket stays its only door."""
    for name in _UNIX_SOCKET_ONLY:
        if name in settings:
            raise ConfigError(
                f"[postgres] {name}: the embedded PostgreSQL listens on its private unix socket only "
                "(trust authentication); for a server reachable over tcp, set database_url to an external one"
            )
    return dict(settings)


def _flag(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, got {value!r}")
    return value


def _smtp_host(value: str | None) -> str | None:
    if value and not re.fullmatch(r"[A-Za-z0-9.-]+(:\d{1,5})?", value):
        raise ConfigError(f'smtp_host = {value!r}: give host or host:port, e.g. "127.0.0.1:25"')
    return value or None


FAULTS = ("stale_memory", "no_fence")


def _fault(value: str | None) -> str | None:
    """A fault injected on purpose, for drills that test the auditor (never in production)."""
    if value and value not in FAULTS:
        raise ConfigError(f"MONCLUB_FAULT={value!r}: the injectable faults are {', '.join(FAULTS)}")
    return value or None


_NODE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def _node(value) -> str:
    """This node's name in the cluster (`[cluster] node`, MONCLUB_NODE): the host name by default."""
    if value is None:
        return socket.gethostname()
    if not isinstance(value, str) or not _NODE.fullmatch(value):
        raise ConfigError(f"cluster.node: {value!r} must be 1 to 64 characters of A-Z a-z 0-9 _ . -")
    return value


def _web(table, env) -> dict:
    """The [web] table as written (monclub.web.settings checks it), the environment winning:
    MONCLUB_WEB_PORT, MONCLUB_WEB_BIND, MONCLUB_WEB_TOKEN."""
    if not isinstance(table, dict):
        raise ConfigError("[web] must be a table (port, bind, actions, token, hosts)")
    found = dict(table)
    for key in ("port", "bind", "token"):
        if env.get(f"MONCLUB_WEB_{key.upper()}"):
            found[key] = env[f"MONCLUB_WEB_{key.upper()}"]
    return found


def load(env=None) -> Config:
    env = os.environ if env is None else env
    data = _read_file(env)
    reunions = data.get("reunions", {})
    client = data.get("client", {})
    retention = data.get("retention", {})
    prets = data.get("prets", {})
    notifications = data.get("notifications", {})
    access = data.get("access", {})
    cluster = data.get("cluster", {})
    home = Path(env.get("MONCLUB_HOME") or data.get("home") or CHECKOUT / ".monclub").absolute()
    tcp = _tcp(reunions.get("tcp"))
    settings = branches.read(data, env)
    database_url = _database_url(env.get("MONCLUB_DATABASE_URL") or data.get("database_url"))
    return Config(
        home=home,
        database_url=database_url,
        owner_url=_owner_url(env.get("MONCLUB_OWNER_DATABASE_URL") or data.get("owner_database_url"), database_url),
        patroni_urls=http_urls(env.get("MONCLUB_PATRONI_URLS") or data.get("patroni_urls", ()), "patroni_urls"),
        tcp=tcp,
        curve=_flag(access.get("curve", False), "access.curve") or not _loopback(tcp),
        server_key=Path(access.get("server_key") or keys.server_public(home)).expanduser(),
        client_key=Path(
            env.get("MONCLUB_CLIENT_KEY") or access.get("client_key") or keys.client_secret(home)
        ).expanduser(),
        restart_intensity=positive_int(reunions.get("restart_intensity", 5), "restart_intensity"),
        restart_period=float(reunions.get("restart_period", 10.0)),
        attempt_timeout=float(client.get("attempt_timeout", 1.5)),
        deadline=float(client.get("deadline", 15.0)),
        postgres_settings=_postgres_settings(data.get("postgres", {})),
        events_retention=float(retention.get("events_seconds", 86400.0)),
        requests_retention=float(retention.get("requests_seconds", 86400.0)),
        history_keep=positive_int(data.get("history", {}).get("keep", 0), "history.keep", minimum=0),
        smtp_host=_smtp_host(env.get("MONCLUB_SMTP_HOST") or notifications.get("smtp_host")),
        smtp_from=notifications.get("smtp_from", "monclub@localhost"),
        fault=_fault(env.get("MONCLUB_FAULT")),
        pret_jour_seconds=positive_float(prets.get("jour_seconds", 86400.0), "prets.jour_seconds"),
        pret_jours=positive_int(prets.get("jours", 14), "prets.jours"),
        relance_seconds=positive_float(prets.get("relance_seconds", 86400.0), "prets.relance_seconds"),
        relances_max=positive_int(prets.get("relances_max", 3), "prets.relances_max", minimum=0),
        hwm=positive_int(reunions.get("hwm", 1000), "reunions.hwm"),
        node=_node(env.get("MONCLUB_NODE") or cluster.get("node")),
        web=_web(data.get("web", {}), env),
        timezone=club.timezone(data.get("club", {}).get("timezone")),
        branches={name: found for name, found in settings.items() if name not in branches.ATTRIBUTES},
        **{
            attribute: settings[name][key]
            for name, keys in branches.ATTRIBUTES.items()
            for key, attribute in keys.items()
        },
    )
