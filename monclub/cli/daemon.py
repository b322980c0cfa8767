"""monclub start | stop | status | clusters: the supervision tree as a daemon, and its embedded clusters."""

import os
import shutil
import sys
import time
from pathlib import Path

import click
import psycopg

from monclub import registry
from monclub.cli.common import emit, fail, handled, json_option, load_config, on_database
from monclub.cluster import drain
from monclub.cluster import view as cluster_view
from monclub.db import reads
from monclub.errors import MonclubError
from monclub.postgres import embedded as clusters_module
from monclub.postgres.embedded import Cluster
from monclub.tree import database, reload
from monclub.tree import status as tree_status
from monclub.tree import supervisord as tree
from monclub.web import settings as web_settings
from monclub.wire import curve

SETTLE_TIMEOUT = 90.0
FIRST_COMMANDS = (
    "membre creer Marie",
    'seance creer "Soirée Polar" --places 10 --id polar',
    "inscrire polar 1",
    "seance voir polar",
)


def monclub_command() -> str:
    """How to type this very `monclub` here: `monclub` when the shell finds this one on PATH,
    else its path (relative to the current directory when below it, e.g. `.venv/bin/monclub`)."""
    script = Path(sys.executable).parent / "monclub"
    if not script.exists():
        return f"{sys.executable} -m monclub"
    found = shutil.which("monclub")
    if found and Path(found).resolve() == script.resolve():
        return "monclub"
    return os.path.relpath(script) if script.is_relative_to(Path.cwd()) else str(script)


def first_commands() -> str:
    """The "Try:" hint, only for a club without any data yet (no membre, seance nor livre)."""
    try:
        if not on_database(reads.club_vide):
            return ""
    except psycopg.Error:
        return ""
    command = monclub_command()
    return "Try:\n" + "\n".join(f"  {command} {line}" for line in FIRST_COMMANDS)


def _line(node: dict) -> str:
    parts = [f"{node['name']:<14}", f"pid {node['pid'] or '-':<7}", f"{node['state']:<9}"]
    if "restarts" in node:
        up = f"up {node['uptime']:>8.1f}s" if node.get("uptime") is not None else f"{'down':<12}"
        parts += [up, f"restarts {node['restarts']}"]
    if node.get("loaded") is not None:
        unloaded = sum((node.get("unloaded") or {}).values())
        parts.append(f"loaded {node['loaded']}  unloaded {unloaded}  handled {node['handled']}")
    if node.get("compiled"):
        parts.append("compiled")
    if node.get("partitions"):
        epochs = " ".join(f"{p['partition']}@{p['epoch'] or '-'}" for p in node["partitions"])
        parts.append(f"partitions@epoch {epochs}")
    if node.get("waiting"):
        parts.append(node["waiting"])
    if "lag" in node:
        parts.append(f"lag {node['lag'] if node['lag'] is not None else '?'}")
    if node.get("url"):
        parts.append(node["url"])
    if node.get("last_exit"):
        parts.append(f"last exit: {node['last_exit']}")
    return "  ".join(parts)


def render(state: dict) -> str:
    root = state["supervisord"]
    lines = [f"supervisord  pid {root['pid'] or '-'}  {root['state']}"]
    programs = state["programs"]
    for i, program in enumerate(programs):
        last = i == len(programs) - 1
        lines.append(("└── " if last else "├── ") + _line(program))
        rows = [_line(child) for child in program.get("children", [])]
        if program.get("spare"):
            readiness = "ready to become" if program.get("spare_ready") else "not ready yet, will become"
            rows.append(f"{'spare':<14} pid {program['spare']:<7} {readiness} the next restarted shard")
        for j, row in enumerate(rows):
            branch = "    " if last else "│   "
            lines.append(branch + ("└── " if j == len(rows) - 1 else "├── ") + row)
    if state.get("database"):
        lines += database.render(state["database"])
    lines += [f"remedy: {remedy}" for remedy in state.get("remedies", [])]
    return "\n".join(lines)


def _log_tails(config, state: dict) -> str:
    tails = []
    for program in state["programs"]:
        path = config.log_dir / f"{program['name']}.log"
        if program["state"] in ("exited", "fatal", "backoff") and path.exists():
            last = path.read_text(errors="replace").strip().splitlines()[-5:]
            tails.append(f"--- {path} (last lines)\n" + "\n".join(last))
    return "\n".join(tails)


@click.command()
@click.option("--foreground", is_flag=True, help="Run the tree attached to this terminal (containers, systemd).")
@json_option
@handled
def start(foreground: bool, as_json: bool):
    """Start MonClub: supervisord and its tree; on a running tree, start again what is down."""
    config = load_config()
    curve.check_server(config)
    web_settings.load(config)
    say = (lambda text: None) if as_json else click.echo
    done = {"ok": True, "home": str(config.home), "already_running": False, "cluster_initialised": None}
    if tree.supervisord_pid(config):
        revived = tree.revive(config)
        if not revived:
            say(f"MonClub is already running (state in {config.home}).")
            state = tree.status(config)
            emit(as_json, {**done, "already_running": True, "status": state}, render(state))
            return
        say(f"MonClub is running (state in {config.home}); starting again: {', '.join(revived)}")
        state = _settle(config, as_json)
        emit(as_json, {**done, "already_running": True, "revived": revived, "status": state}, render(state))
        return
    if config.embedded:
        cluster = Cluster.for_home(config.home)
        if cluster.ensure_initialized():
            done["cluster_initialised"] = str(cluster.directory)
            say(f"initialised the embedded PostgreSQL cluster in {cluster.directory}")
    say(f"starting MonClub (state in {config.home})...")
    tree.launch(config, foreground)
    state = _settle(config, as_json)
    emit(as_json, {**done, "status": state}, "\n".join(filter(None, [render(state), first_commands()])))


def _settle(config, as_json: bool) -> dict:
    """The tree once healthy; if a program is down for good or the deadline passes, print the tree
    and the failing programs' last log lines, and fail."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while not (state := tree.status(config))["healthy"] and time.monotonic() < deadline:
        if any(p["state"] in ("exited", "fatal") for p in state["programs"]):
            break
        time.sleep(0.2)
    if not state["healthy"]:
        if not as_json:
            click.echo(render(state))
        click.echo(_log_tails(config, state), err=True)
        fail(
            f"the tree did not come up (see above); logs are in {config.log_dir}; stop it with: monclub stop",
            1,
            as_json,
            "unavailable",
        )
    return state


@click.command("reload")
@click.option("--branch", "branches", multiple=True, type=click.Choice(registry.BRANCH_NAMES), help="Only this branch.")
@json_option
@handled
def reload_command(branches: tuple[str, ...], as_json: bool):
    """Replace every shard process of this node, one at a time, by a fresh one running the code on
    disk; each hands its partitions over to its successor, so no request fails."""
    config = load_config()
    say = (lambda text: None) if as_json else click.echo
    replaced = reload.reload(config, branches or registry.BRANCH_NAMES, say)
    emit(as_json, {"ok": True, "replaced": replaced}, f"reloaded {len(replaced)} shard processes")


@click.command()
@json_option
@handled
def stop(as_json: bool):
    """Stop every process of the tree, then supervisord. On a node of a cluster, its partitions
    are first handed over to the other live nodes (as `monclub node drain` does)."""
    config = load_config()
    if tree.supervisord_pid(config):
        try:
            drain.before_stop(config)
        except MonclubError as error:
            click.echo(
                f"warning: the hand-over is incomplete ({error.message}); stopping anyway: the other nodes take "
                "the rest of its partitions when their leases run out",
                err=True,
            )
    stopped = tree.shutdown(config)
    text = "MonClub stopped." if stopped else f"MonClub is not running (state in {config.home})."
    emit(as_json, {"ok": True, "home": str(config.home), "was_running": stopped}, text)


@click.command()
@json_option
@click.option("--watch", is_flag=True, help="Redraw every second until interrupted.")
@click.option("--cluster", "whole", is_flag=True, help="Also every node, partition owner and recent move.")
@handled
def status(as_json: bool, watch: bool, whole: bool):
    """Show the supervision tree; exit 1 when any part of it is not running."""
    config = load_config()
    while True:
        state = tree_status.enrich(config, tree.status(config))
        text = render(state)
        if whole:
            state["cluster"] = cluster_view.view(config)
            text += "\n" + cluster_view.render(state["cluster"])
        if watch and not as_json:
            click.clear()
        emit(as_json, state, text)
        if not watch:
            break
        time.sleep(1.0)
    if not state["healthy"]:
        raise SystemExit(1)


@click.command()
@click.option("--remove-orphans", is_flag=True, help="Remove the clusters whose state directory is gone.")
@json_option
@handled
def clusters(remove_orphans: bool, as_json: bool):
    """List the embedded clusters kept outside their state directory (run as root, under
    /var/lib/monclub/clusters), with the state directory each serves; remove the orphans."""
    removed = clusters_module.remove_orphans() if remove_orphans else []
    found = clusters_module.fallback_clusters()
    lines = [f"removed {directory}" for directory in removed]
    for cluster in found:
        owner = cluster["state_directory"] or "unknown state directory (created before it was recorded)"
        lines.append(
            f"{cluster['directory']}  {owner}"
            + ("  (orphan: monclub clusters --remove-orphans)" if cluster["orphan"] else "")
        )
    emit(
        as_json,
        {"removed": removed, "clusters": found},
        "\n".join(lines) or f"no cluster under {clusters_module.FALLBACK_ROOT}",
    )


COMMANDS = (start, stop, status, clusters, reload_command)
