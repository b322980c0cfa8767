"""The cluster drill: several nodes on this machine sharing this MonClub's database, load through
this node's clients (redirected to whichever node owns each partition), and on a seeded schedule
a fault on one of the other nodes: kill -9 of every process of it (started again after
FAULT_SECONDS), or SIGSTOP of every process of it for FAULT_SECONDS (twice the lease), then
SIGCONT. Then the chaos drill's quiescence and audit, which also counts commits under a stale
epoch. This node (node 0) runs the database and takes no fault. Cutting a node off the network
needs namespaces: the multi-host tests do it (docs/cluster.md).

The extra nodes are full trees in state directories of their own, `<home>/cluster/n<k>`, with
ipc sockets (this node's config must not set `[reunions] tcp`); they are stopped (drained first)
and removed at the end.
"""

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from monclub import config as configuration
from monclub.cluster import nodes as nodes_table
from monclub.cluster.ownership import LEASE_SECONDS
from monclub.db import connect
from monclub.drills import chaos
from monclub.drills.load import Load
from monclub.drills.recovery import running_places
from monclub.errors import ConfigError

FAULT_SECONDS = 2 * LEASE_SECONDS
FAILOVER_WAIT = 15.0
KINDS = ("kill", "freeze")


@dataclass
class Node:
    name: str
    env: dict

    @property
    def config(self) -> configuration.Config:
        return configuration.load(self.env)

    def monclub(self, *args: str) -> subprocess.CompletedProcess:
        argv = [sys.executable, "-m", "monclub", *args]
        return subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=180)


def extra_nodes(config: configuration.Config, count: int) -> list[Node]:
    """Nodes 1 … count-1 of the drill, on `config`'s database."""
    if config.tcp:
        raise ConfigError("drill cluster runs its extra nodes on ipc sockets: unset [reunions] tcp")
    env = {k: v for k, v in os.environ.items() if k not in ("MONCLUB_NODE", "MONCLUB_HOME")}
    env.update(MONCLUB_DATABASE_URL=config.conninfo(), MONCLUB_OWNER_DATABASE_URL=config.owner_conninfo())
    return [
        Node(
            f"{config.node}-n{k}",
            {**env, "MONCLUB_HOME": str(config.home / "cluster" / f"n{k}"), "MONCLUB_NODE": f"{config.node}-n{k}"},
        )
        for k in range(1, count)
    ]


@dataclass
class Fault:
    node: str
    kind: str
    at: float
    failover: float | None = None


@dataclass
class NodeFaults:
    """The faults of the drill (what chaos.load_and_faults drives: `loop`, `per_target`)."""

    config: configuration.Config
    nodes: list[Node]
    every: float
    seed: int
    faults: list[Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    busy: dict[str, threading.Thread] = field(default_factory=dict)

    @property
    def per_target(self) -> Counter:
        with self.lock:
            return Counter(f"{fault.node} {fault.kind}" for fault in self.faults)

    def loop(self, stop: threading.Event) -> None:
        """Every `every` seconds a fault on a node not in a fault already, each in a thread of its
        own (a node killed is started again, which takes a while); returns once all are over."""
        rng = random.Random(self.seed)
        while not stop.wait(self.every):
            free = [node for node in self.nodes if not (node.name in self.busy and self.busy[node.name].is_alive())]
            if free:
                node, kind = rng.choice(free), rng.choice(KINDS)
                self.busy[node.name] = threading.Thread(target=self.inject, args=(node, kind), daemon=True)
                self.busy[node.name].start()
        for thread in self.busy.values():
            thread.join()

    def inject(self, node: Node, kind: str) -> None:
        pids = list(running_places(node.config).values())
        fault = Fault(node.name, kind, time.monotonic())
        with self.lock:
            self.faults.append(fault)
        for pid in pids:
            _signal(pid, signal.SIGKILL if kind == "kill" else signal.SIGSTOP)
        fault.failover = self._failover(node.name, fault.at)
        time.sleep(max(0.0, fault.at + FAULT_SECONDS - time.monotonic()))
        if kind == "kill":
            node.monclub("start")
        else:
            for pid in pids:
                _signal(pid, signal.SIGCONT)

    def _failover(self, node: str, since: float) -> float | None:
        """Seconds until the other nodes own every partition the faulted one owned (None if not
        within FAILOVER_WAIT)."""
        with connect(self.config.conninfo(), autocommit=True) as conn:
            while time.monotonic() - since < FAILOVER_WAIT:
                if nodes_table.moving(conn, node) == 0:
                    return time.monotonic() - since
                time.sleep(0.05)
        return None


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def run(config: configuration.Config, plan: chaos.Plan, count: int, progress: chaos.Progress) -> dict:
    """Start the extra nodes, run the drill, stop them; the report."""
    nodes = extra_nodes(config, count)
    for node in nodes:
        started = node.monclub("start")
        if started.returncode != 0:
            raise ConfigError(f"node {node.name} did not start: {started.stderr.strip()[-300:]}")
    try:
        return _drill(config, plan, nodes, progress)
    finally:
        for node in nodes:
            node.monclub("stop")  # it stops even when the hand-over cannot finish
            shutil.rmtree(node.config.home, ignore_errors=True)


def _drill(config: configuration.Config, plan: chaos.Plan, nodes: list[Node], progress: chaos.Progress) -> dict:
    load = Load(config, plan.clients, plan.seed)
    faults = NodeFaults(config, nodes, plan.kill_every, plan.seed)
    load.prepare()
    started = time.monotonic()
    phases = [chaos.load_and_faults(load, faults, plan, progress, started), chaos.quiescence(config, plan, progress)]
    audit, violations = chaos.audit_phase(config, load, plan, progress)
    phases.append(audit)
    violations += [f"{phase.name}: {phase.missed}" for phase in phases if phase.missed]
    violations += [
        f"{f.node} {f.kind}: its partitions were not taken over within {FAILOVER_WAIT:.0f}s"
        for f in faults.faults
        if f.failover is None
    ]
    return {
        "seed": plan.seed,
        "nodes": [config.node, *(node.name for node in nodes)],
        "duration": plan.duration,
        "fault_every": plan.kill_every,
        "clients": plan.clients,
        "phases": [phase.report() for phase in phases],
        "operations_acknowledged": load.outcomes.acknowledged,
        "retries": load.outcomes.retries,
        "outcomes": dict(load.outcomes.counts),
        "faults": dict(faults.per_target),
        "failover_seconds": chaos.summary([f.failover for f in faults.faults if f.failover is not None]),
        "violations": violations,
        "ok": not violations,
    }


def report_lines(report: dict) -> list[str]:
    failover = report["failover_seconds"]
    faults = ", ".join(f"{place} {n}" for place, n in sorted(report["faults"].items())) or "none"
    lines = [
        f"cluster drill: seed {report['seed']}, nodes {', '.join(report['nodes'])}, {report['duration']:.0f}s,"
        f" a fault every {report['fault_every']:.0f}s, {report['clients']} clients",
        "phases:",
        *[chaos.phase_line(phase) for phase in report["phases"]],
        f"operations acknowledged: {report['operations_acknowledged']}   retries: {report['retries']}",
        f"outcomes: {', '.join(f'{code} {n}' for code, n in sorted(report['outcomes'].items()))}",
        f"faults: {faults}",
        f"failover (fault to every partition owned by the others): median {failover['median']} s,"
        f" max {failover['max']} s over {failover['count']} faults",
    ]
    if report["violations"]:
        return lines + [f"VIOLATION: {v}" for v in report["violations"]]
    return lines + ["audit: nothing lost, nothing applied twice, no overbooking, no commit under a stale epoch"]
