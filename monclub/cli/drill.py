"""monclub drill kill TARGET | drill chaos | drill cluster | drill database: break the tree (or
its database) on purpose and count what survived."""

import json
from pathlib import Path

import click

from monclub.cli.common import emit, fail, handled, json_option, load_config
from monclub.config import Config
from monclub.drills import chaos, recovery
from monclub.drills import database as database_drill
from monclub.drills import failover as cluster
from monclub.drills.primary_faults import KINDS as DATABASE_FAULTS
from monclub.drills.progress import TextProgress
from monclub.errors import InvalidRequest, Unavailable
from monclub.tree import supervisord as tree

SEED = click.option("--seed", type=int, default=1, show_default=True, help="Makes the fault schedule reproducible.")
SETTLE = click.option(
    "--settle", type=click.FloatRange(min=1), default=60.0, show_default=True, help="Quiescence deadline (s)."
)
REPORT = click.option(
    "--report", "report_path", type=click.Path(dir_okay=False), default=None, help="Also write the report as JSON."
)


@click.group()
def drill():
    """Crash drills on the running tree."""


def check_target(config: Config, target: str) -> None:
    """Refuse, before killing anything, a place this tree does not have or one with no process."""
    known = tree.all_places(config)
    if target not in known:
        raise InvalidRequest(f"target: no place {target!r} in this tree; places: {', '.join(known)}")
    state = tree.status(config)
    if state["supervisord"]["pid"] is None:
        raise Unavailable(f"MonClub is not running (state in {config.home}); run: monclub start")
    if not tree.places(state).get(target):
        raise Unavailable(f"{target} has no running process now; see: monclub status")


@drill.command("kill")
@click.argument("target")
@json_option
@handled
def drill_kill(target: str, as_json: bool):
    """kill -9 the process at TARGET and time how long until it serves again. TARGET is a place in
    the tree: supervisord, postgres, bus, relay, reunions, reunions/shard-N, prets, prets/shard-N,
    paiements, notifications (`monclub status` shows them)."""
    config = load_config()
    check_target(config, target)
    if target == "supervisord":
        result = recovery.kill_root(config)
        if result["orphans"]:
            fail(f"orphans survived supervisord: {', '.join(result['orphans'])}", 1, as_json, "orphans")
        emit(
            as_json,
            result,
            f"supervisord killed: every process below gone after {result['gone_seconds'] * 1000:.0f} ms, "
            f"tree started again and healthy after {result['seconds']:.2f} s",
        )
        return
    result = recovery.kill(config, target)
    emit(
        as_json, result, f"{target}: killed pid {result['pid']}, serving again after {result['seconds'] * 1000:.1f} ms"
    )


@drill.command("chaos")
@click.option("--duration", type=float, default=60.0, show_default=True, help="Seconds of load and kills.")
@click.option("--kill-every", type=int, default=500, show_default=True, help="Milliseconds between kills.")
@SEED
@click.option("--clients", type=int, default=8, show_default=True, help="Concurrent clients of the load.")
@click.option("--targets", default="", help="Comma-separated places to kill (default: every process but supervisord).")
@click.option(
    "--settle",
    type=click.FloatRange(min=1),
    default=60.0,
    show_default=True,
    help="Deadline in seconds of quiescence after the load (and, capped by it, of the calls in flight and the audit).",
)
@REPORT
@json_option
@handled
def drill_chaos(duration, kill_every, seed, clients, targets, settle, report_path, as_json):
    """Load the tree while killing random processes of it, then audit; exit 1 on any violation."""
    plan = chaos.Plan(duration, kill_every / 1000, seed, clients, tuple(t for t in targets.split(",") if t), settle)
    progress = TextProgress(duration)
    try:
        report = chaos.run(load_config(), plan, progress)
    finally:
        progress.done()
    _finish(report, chaos.report_lines(report), report_path, as_json)


@drill.command("cluster")
@click.option(
    "--nodes", type=click.IntRange(min=2, max=8), default=3, show_default=True, help="Nodes, this one included."
)
@click.option("--duration", type=float, default=60.0, show_default=True, help="Seconds of load and faults.")
@click.option("--fault-every", type=float, default=10.0, show_default=True, help="Seconds between faults.")
@SEED
@click.option("--clients", type=int, default=8, show_default=True, help="Concurrent clients of the load.")
@SETTLE
@REPORT
@json_option
@handled
def drill_cluster(nodes, duration, fault_every, seed, clients, settle, report_path, as_json):
    """Start more nodes on this database, load them while killing or freezing whole nodes, then
    audit (commits under a stale epoch included); exit 1 on any violation."""
    plan = chaos.Plan(duration, fault_every, seed, clients, (), settle)
    progress = TextProgress(duration)
    try:
        report = cluster.run(load_config(), plan, nodes, progress)
    finally:
        progress.done()
    _finish(report, cluster.report_lines(report), report_path, as_json)


def database_kinds(kinds: str) -> tuple[str, ...]:
    chosen = tuple(kind.strip() for kind in kinds.split(",") if kind.strip())
    if "cut" in chosen:
        raise InvalidRequest(
            "kinds: cut needs network namespaces, which the demo on this machine does not have "
            "(tests/integration/test_database_faults.py cuts a host's cable)"
        )
    unknown = [kind for kind in chosen if kind not in DATABASE_FAULTS]
    if unknown or not chosen:
        raise InvalidRequest(f"kinds: {', '.join(unknown) or 'none'}; choose among {', '.join(DATABASE_FAULTS)}")
    return chosen


@drill.command("database")
@click.option(
    "--demo",
    "demo_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The demo's directory (default: the config file's when it holds demo.pid, else the demo's default).",
)
@click.option("--duration", type=float, default=120.0, show_default=True, help="Seconds of load and faults.")
@click.option(
    "--fault-every",
    type=float,
    default=40.0,
    show_default=True,
    help="Seconds between faults at the earliest (each also waits for the database to settle).",
)
@click.option(
    "--kinds",
    default=",".join(DATABASE_FAULTS),
    show_default=True,
    help="Faults of the primary: postgres (kill -9 of its postmaster), kill (kill -9 of its whole host, "
    "started again after), freeze (SIGSTOP of its host, SIGCONT after). cut needs network namespaces: "
    "not here (tests/integration/test_database_faults.py).",
)
@SEED
@click.option(
    "--clients", type=int, default=2, show_default=True, help="Concurrent clients (few: etcd and Patroni need CPU)."
)
@SETTLE
@REPORT
@json_option
@handled
def drill_database(demo_dir, duration, fault_every, kinds, seed, clients, settle, report_path, as_json):
    """On the tree whose database is the three-server demo (scripts/ha-demo), load it while the
    primary's postgres or whole host is killed or frozen on a seeded schedule, time each failover
    to the next commit, then audit; exit 1 on any violation."""
    chosen = database_kinds(kinds)
    config = load_config()
    target = database_drill.demo(config, demo_dir)
    plan = chaos.Plan(duration, fault_every, seed, clients, (), settle)
    progress = TextProgress(duration)
    try:
        report = database_drill.run(config, plan, chosen, target, progress)
    finally:
        progress.done()
    _finish(report, database_drill.report_lines(report), report_path, as_json)


def _finish(report: dict, lines: list[str], report_path: str | None, as_json: bool) -> None:
    emit(as_json, report, "\n".join(lines))
    if report_path:
        with open(report_path, "w") as out:
            json.dump(report, out, indent=2, ensure_ascii=False)
    if not report["ok"]:
        if as_json:
            raise SystemExit(1)
        fail(f"{len(report['violations'])} violation(s)", 1)


COMMANDS = (drill,)
