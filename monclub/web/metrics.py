"""/metrics in Prometheus' text format, by prometheus_client.

The web program counts the commands it sends (branch, op, outcome). The rest is collected at each
scrape from where it already lives: the tree (restarts per process), each shard's ping answer on
its query socket (commands handled, aggregates loaded), PostgreSQL's reads (listener lag, outbox
depth). Nothing is written anywhere for it.
"""

import contextlib
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram

from monclub.errors import MonclubError


class Metrics:
    def __init__(self) -> None:
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
        self.kills = Counter(
            "monclub_web_kills", "Processes killed by the kill buttons, by place", ["place"], registry=self.registry
        )

    @contextlib.contextmanager
    def command(self, branch: str, op: str) -> Iterator[None]:
        with self.latency.labels(branch).time():
            try:
                yield
            except MonclubError as error:
                self.commands.labels(branch, op, error.code).inc()
                raise
        self.commands.labels(branch, op, "ok").inc()
