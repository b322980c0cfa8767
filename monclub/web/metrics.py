"""/metrics in Prometheus' text format, by prometheus_client.

The web program counts the commands it sends (branch, op, outcome) and the kills it made. The
rest is collected at each scrape from where it already lives: the tree (restarts per process),
each shard's ping answer on its query socket (commands by op and outcome, batch sizes, commit
latencies: monclub.shards.stats), PostgreSQL's reads (listener lag, outbox depth; which server of
the URL is primary, each standby's lag and timeline, and Patroni's role for it:
monclub.tree.database). Nothing is written anywhere for it.
"""

import contextlib
from collections.abc import Iterator

import psycopg
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from monclub import registry
from monclub.accueil.ops import OPS as ACCUEIL_OPS
from monclub.client.sync import probe
from monclub.config import Config
from monclub.db import connect, reads, servers
from monclub.db.outbox import latest_seq
from monclub.errors import MonclubError
from monclub.tree import database
from monclub.tree import supervisord as tree

PROBE_SECONDS = 0.3


def declared_commands() -> Iterator[tuple[str, str]]:
    """(service, op) of every command the web program may send, from the op declarations: each
    is on /metrics from the start, at 0, so that a rate over it exists before its first use."""
    for table in (*(branch.ops() for branch in registry.BRANCHES), ACCUEIL_OPS):
        for op in table.declared.values():
            if not op.reads:
                yield table.service, op.name


class Metrics:
    def __init__(self, config: Config) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.commands = Counter(
            "monclub_http_commands",
            "Commands sent by the web program, by branch, op and outcome (ok or the error code)",
            ["branch", "op", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "monclub_http_command_seconds",
            "Time from the web program sending a command to its reply",
            ["branch"],
            registry=self.registry,
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0),
        )
        for service, op in declared_commands():
            self.commands.labels(service, op, "ok")
        self.kills = Counter(
            "monclub_web_kills", "Processes killed by the kill buttons, by place", ["place"], registry=self.registry
        )
        self.registry.register(TreeCollector(config))

    @contextlib.contextmanager
    def command(self, branch: str, op: str) -> Iterator[None]:
        with self.latency.labels(branch).time():
            try:
                yield
            except MonclubError as error:
                self.commands.labels(branch, op, error.code).inc()
                raise
        self.commands.labels(branch, op, "ok").inc()


def _histogram(name: str, doc: str, found: list[tuple[list[str], dict]]) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, doc, labels=["branch", "shard"])
    for labels, histogram in found:
        cumulative, buckets = 0, []
        for bound, count in zip([*histogram["bounds"], "+Inf"], histogram["counts"], strict=True):
            cumulative += count
            buckets.append((str(bound), cumulative))
        family.add_metric(labels, buckets, histogram["sum"])
    return family


def database_families(found: list[dict]) -> Iterator[GaugeMetricFamily]:
    """Per server of the database URL: its role (1 for the primary), lag, timeline, whether the
    primary's commits wait for it, and Patroni's role for it (when patroni_urls names Patroni)."""
    families = {
        "primary": GaugeMetricFamily(
            "monclub_database_primary",
            "1 for the server of the database URL that takes writes; 0 for a standby or a silent one",
            labels=["server", "role"],
        ),
        "sync": GaugeMetricFamily(
            "monclub_database_synchronous", "1 for a standby the primary's commits wait for", labels=["server"]
        ),
        "lag_bytes": GaugeMetricFamily(
            "monclub_database_lag_bytes", "A standby's replayed WAL behind the primary's position", labels=["server"]
        ),
        "timeline": GaugeMetricFamily("monclub_database_timeline", "The server's timeline", labels=["server"]),
        "patroni": GaugeMetricFamily(
            "monclub_database_patroni",
            "1 per server Patroni's /cluster names: its member, role and state",
            labels=["server", "member", "role", "state"],
        ),
    }
    for entry in found:
        server = entry["server"]
        families["primary"].add_metric([server, entry["role"]], entry["role"] == servers.PRIMARY)
        for key in ("sync", "lag_bytes", "timeline"):
            if entry[key] is not None:
                families[key].add_metric([server], entry[key])
        if said := entry.get("patroni"):
            families["patroni"].add_metric([server, said["name"], said["role"], said["state"]], 1)
    yield from families.values()


class TreeCollector(Collector):
    """What the tree, the shards and PostgreSQL say at the time of the scrape."""

    def __init__(self, config: Config):
        self.config = config

    def describe(self):
        return []

    def collect(self):
        state = tree.status(self.config)
        restarts = GaugeMetricFamily("monclub_process_restarts", "Restarts since start", labels=["place"])
        up = GaugeMetricFamily("monclub_process_up", "1 while the process of a place runs", labels=["place"])
        for program in state["programs"]:
            restarts.add_metric([program["name"]], program["restarts"])
            up.add_metric([program["name"]], program["state"] == "running")
            for child in program.get("children", []):
                up.add_metric([f"{program['name']}/{child['name']}"], child["state"] == "running")
        yield from (restarts, up)
        yield from self._shards()
        yield from self._database()

    def _shards(self):
        labels = ["branch", "shard", "op", "outcome"]
        commands = CounterMetricFamily("monclub_shard_commands", "Commands answered by op, outcome", labels=labels)
        batches, commits = [], []
        for branch in registry.BRANCH_NAMES:
            for index in range(self.config.shard_count(branch)):
                answer = probe(self.config, index, branch, timeout=PROBE_SECONDS) or {}
                stats, shard = answer.get("stats"), [branch, str(index)]
                if not stats:
                    continue
                for op, outcome, count in stats["outcomes"]:
                    commands.add_metric([*shard, op, outcome], count)
                batches.append((shard, stats["batch"]))
                commits.append((shard, stats["commit"]))
        yield commands
        yield _histogram("monclub_shard_batch_size", "Commands written per transaction", batches)
        yield _histogram("monclub_shard_commit_seconds", "Time of a batch's transaction, write to commit", commits)

    def _database(self):
        yield from database_families(database.hosts(self.config))
        lag = GaugeMetricFamily("monclub_listener_lag", "Events a listener is behind the outbox", labels=["listener"])
        depth = GaugeMetricFamily("monclub_outbox_depth", "Events committed that some listener has not applied")
        try:
            with connect(self.config.conninfo(), autocommit=True) as conn:
                lags, latest = reads.listener_lags(conn), latest_seq(conn)
        except psycopg.Error:
            return
        for name, behind in lags.items():
            lag.add_metric([name], behind)
        depth.add_metric([], max(lags.values(), default=0))
        yield from (lag, depth)
        yield GaugeMetricFamily("monclub_outbox_latest_seq", "The latest committed event sequence number", value=latest)
