"""The three-server demo on paper: its ports, each etcd member's command line, each Patroni's
configuration, and the URLs MonClub uses. Pure: monclub/postgres/ha/processes.py runs them.

Member i of 3 takes four loopback ports from `base + 10 × i`: etcd's client and peer ports, then
Patroni's REST API, then PostgreSQL. The default base (15400) keeps clear of etcd's 2379/2380,
which Debian's etcd-server package may be serving already, of PostgreSQL's 5432, and of
MonClub's own 7100 and up.

The timing (docs/database.md, "The failover timeline"): Patroni will not take a `ttl` under 20 s
and wants `loop_wait + 2 × retry_timeout ≤ ttl`. A primary whose host dies keeps the leader key
until its ttl runs out, so a host fault costs up to ttl + loop_wait; a loop every 2 s notices a
dead postgres within 2 s, and `primary_start_timeout: 0` fails over at once instead of restarting
it in place (safe here: in synchronous mode the standby promoted has every acknowledged commit).
retry_timeout 9 s is how long a primary keeps writing while it cannot reach etcd before it
demotes itself: lower would demote on a slow etcd (two loaded cores), higher would break the rule.

Patroni talks to etcd's v2 API (its `etcd` section, etcd started with --enable-v2), where the
leader key has a ttl of its own, ending at a wall-clock instant, not etcd3's leases. With leases,
an etcd member that led its cluster and was frozen with the primary's host revoked them all once
thawed (its countdown had run during the freeze; etcd-io/etcd#15247, again in 3.5.16 through
#18428): the new primary's leader key went, the thawed old primary took the key back, and the
new primary and its synchronous standby were rewound with commits they had acknowledged
(docs/database.md, "Why Patroni uses etcd's v2 API"). A ttl key is only ever removed once its
instant has passed, whoever asks.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path

from monclub.postgres.embedded import APP_ROLE, DATABASE, DEAD_PEER_SETTINGS, ROLE

MEMBERS = 3
BASE_PORT = 15400
LOOPBACK = "127.0.0.1"
SCOPE = "monclub"
REPLICATOR, REWINDER = "replicator", "rewinder"
TIMING = {"ttl": 20, "loop_wait": 2, "retry_timeout": 9, "primary_start_timeout": 0}


@dataclass(frozen=True)
class Member:
    """One host of the demo: an etcd member, a Patroni and its PostgreSQL."""

    index: int
    base: int
    directory: Path  # the demo's directory; this member's files are in `home`
    address: str = LOOPBACK  # its host's (the tests' network namespaces give each member a host)

    @property
    def name(self) -> str:
        return f"pg{self.index}"

    @property
    def home(self) -> Path:
        return self.directory / self.name

    @property
    def etcd_client(self) -> int:
        return self.base + 10 * self.index

    @property
    def etcd_peer(self) -> int:
        return self.etcd_client + 1

    @property
    def rest(self) -> int:
        return self.etcd_client + 2

    @property
    def postgres(self) -> int:
        return self.etcd_client + 3

    @property
    def rest_url(self) -> str:
        return f"http://{self.address}:{self.rest}"


def members(directory: Path, base: int = BASE_PORT, addresses: list[str] | None = None) -> list[Member]:
    """The three members: all on loopback, or each at its own address (the same ports then do)."""
    return [Member(index, base, directory, *(addresses or [])[index : index + 1]) for index in range(MEMBERS)]


def ports(base: int) -> list[int]:
    """Every port the demo listens on."""
    return [port for member in members(Path("/"), base) for port in range(member.etcd_client, member.postgres + 1)]


def etcd_argv(member: Member, everyone: list[Member]) -> list[str]:
    """etcd 3.4's command line for `member` of a new three-member cluster (on loopback, or at the
    members' addresses). A member started again on its data directory rejoins: etcd then ignores
    the --initial-* flags."""
    peers = ",".join(f"e{other.index}=http://{other.address}:{other.etcd_peer}" for other in everyone)
    client, peer = f"http://{member.address}:{member.etcd_client}", f"http://{member.address}:{member.etcd_peer}"
    return [
        "etcd",
        *("--name", f"e{member.index}", "--data-dir", str(member.home / "etcd")),
        *("--listen-client-urls", client, "--advertise-client-urls", client),
        *("--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer),
        *("--initial-cluster", peers, "--initial-cluster-state", "new", "--initial-cluster-token", SCOPE),
        "--enable-v2",  # Patroni's `etcd` section: keys with a ttl, no leases (the module's docstring)
    ]


def etcd_refusal(version: str) -> str | None:
    """Why the etcd whose `etcd --version` printed `version` cannot serve the demo (None: it can):
    the v2 API Patroni uses here is gone from 3.6 on."""
    match = re.search(r"etcd Version: (\d+)\.(\d+)\.", version)
    if match is None:
        return "its version is unreadable"
    if (int(match[1]), int(match[2])) >= (3, 6):
        return (
            f"etcd {match[1]}.{match[2]} has no v2 API, which Patroni uses here (docs/database.md); use etcd 3.4 or 3.5"
        )
    return None


def patroni_config(
    member: Member, everyone: list[Member], bindir: Path, secrets: dict[str, str], network: str = f"{LOOPBACK}/32"
) -> dict:
    """Patroni's configuration of `member` (written as JSON, which YAML reads): strict synchronous
    replication, the timing above, the roles MonClub and replication need, passwords on tcp from
    `network` (the servers' and MonClub's hosts)."""
    hba = [
        "local all all trust",  # the member's own socket directory (0700): Patroni and the demo's set-up
        f"host replication {REPLICATOR} {network} scram-sha-256",
        f"host all all {network} scram-sha-256",
    ]
    parameters = {
        **DEAD_PEER_SETTINGS,
        "max_connections": 200,
        "wal_log_hints": "on",  # pg_rewind: an old primary rejoins as a standby
        "synchronous_commit": "on",
        "unix_socket_directories": str(member.home),
    }
    return {
        "scope": SCOPE,
        "namespace": "/monclub-demo/",
        "name": member.name,
        "log": {"level": "INFO"},
        "restapi": {"listen": f"{member.address}:{member.rest}", "connect_address": f"{member.address}:{member.rest}"},
        "etcd": {"hosts": [f"{other.address}:{other.etcd_client}" for other in everyone]},
        "bootstrap": {
            "dcs": {
                **TIMING,
                "synchronous_mode": True,
                "synchronous_mode_strict": True,
                "synchronous_node_count": 1,
                "postgresql": {"use_pg_rewind": True, "use_slots": True, "parameters": parameters},
            },
            "initdb": [{"encoding": "UTF8"}, {"locale": "C"}],
        },
        "postgresql": {
            "listen": f"{member.address}:{member.postgres}",
            "connect_address": f"{member.address}:{member.postgres}",
            "data_dir": str(member.home / "data"),
            "bin_dir": str(bindir),
            "pgpass": str(member.home / "pgpass"),
            "pg_hba": hba,
            "parameters": {"unix_socket_directories": str(member.home)},
            "authentication": {
                "superuser": {"username": ROLE, "password": secrets[ROLE]},
                "replication": {"username": REPLICATOR, "password": secrets[REPLICATOR]},
                "rewind": {"username": REWINDER, "password": secrets[REWINDER]},
            },
        },
        "watchdog": {"mode": "off"},
        "tags": {"nofailover": False, "noloadbalance": False, "clonefrom": False, "nosync": False},
    }


def patroni_file(config: dict) -> str:
    return json.dumps(config, indent=2) + "\n"


def url(everyone: list[Member], role: str, password: str) -> str:
    """The multi-host URL of `role`: every member, the primary found by MonClub (monclub.db.hosts)."""
    hosts = ",".join(member.address for member in everyone)
    ports = ",".join(str(member.postgres) for member in everyone)
    return (
        f"host={hosts} port={ports} dbname={DATABASE} user={role} password={password} target_session_attrs=read-write"
    )


def urls(everyone: list[Member], secrets: dict[str, str]) -> dict[str, str | list[str]]:
    """MonClub's settings naming the demo: database_url (the programs' role), owner_database_url
    (the schema's owner), patroni_urls (each member's REST API, for `monclub database`)."""
    return {
        "database_url": url(everyone, APP_ROLE, secrets[APP_ROLE]),
        "owner_database_url": url(everyone, ROLE, secrets[ROLE]),
        "patroni_urls": [member.rest_url for member in everyone],
    }
