"""monclub drill kill TARGET | drill chaos: break the tree on purpose and count what survived."""

import json

import click

from monclub.cli.common import emit, fail, handled, json_option, load_config
from monclub.config import Config
from monclub.drills import chaos, recovery
from monclub.drills import failover as cluster
from monclub.drills.progress import TextProgress
from monclub.errors import InvalidRequest, Unavailable
from monclub.tree import supervisord as tree


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
@click.option("--seed", type=int, default=1, show_default=True, help="Makes the fault schedule reproducible.")
@click.option("--clients", type=int, default=8, show_default=True, help="Concurrent clients of the load.")
@click.option("--targets", default="", help="Comma-separated places to kill (default: every process but supervisord).")
@click.option(
    "--settle",
    type=click.FloatRange(min=1),
    default=60.0,
    show_default=True,
    help="Deadline in seconds of quiescence after the load (and, capped by it, of the calls in flight and the audit).",
)
@click.option(
    "--report", "report_path", type=click.Path(dir_okay=False), default=None, help="Also write the report as JSON."
)
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
@click.option("--seed", type=int, default=1, show_default=True, help="Makes the fault schedule reproducible.")
@click.option("--clients", type=int, default=8, show_default=True, help="Concurrent clients of the load.")
@click.option(
    "--settle", type=click.FloatRange(min=1), default=60.0, show_default=True, help="Quiescence deadline (s)."
)
@click.option(
    "--report", "report_path", type=click.Path(dir_okay=False), default=None, help="Also write the report as JSON."
)
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
