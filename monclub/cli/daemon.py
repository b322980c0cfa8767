"""monclub start | stop | status: the supervision tree as a daemon."""

import time

import click

from monclub import curve, observe, tree
from monclub.cli.common import emit, fail, handled, json_option, load_config
from monclub.postgres.cluster import Cluster

SETTLE_TIMEOUT = 90.0
FIRST_COMMANDS = """Try:
  monclub membre creer Marie
  monclub seance creer "Soirée Polar" --places 10 --id polar
  monclub inscrire polar 1
  monclub seance voir polar"""


def _line(node: dict) -> str:
    parts = [f"{node['name']:<14}", f"pid {node['pid'] or '-':<7}", f"{node['state']:<9}"]
    if "uptime" in node:
        parts += [f"up {node['uptime']:>8.1f}s", f"restarts {node['restarts']}"]
    if node.get("loaded") is not None:
        parts.append(f"loaded {node['loaded']}  handled {node['handled']}")
    if "lag" in node:
        parts.append(f"lag {node['lag'] if node['lag'] is not None else '?'}")
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
        children = program.get("children", [])
        for j, child in enumerate(children):
            branch = "    " if last else "│   "
            lines.append(branch + ("└── " if j == len(children) - 1 else "├── ") + _line(child))
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
@handled
def start(foreground: bool):
    """Start MonClub: supervisord and its tree (embedded PostgreSQL, Réunions and its shards)."""
    config = load_config()
    curve.check_server(config)
    if tree.supervisord_pid(config):
        revived = tree.revive(config)
        if not revived:
            click.echo(f"MonClub is already running (state in {config.home}).")
            click.echo(render(tree.status(config)))
            return
        click.echo(f"MonClub is running (state in {config.home}); starting again: {', '.join(revived)}")
        _settle(config)
        return
    if config.embedded:
        cluster = Cluster.for_home(config.home)
        if cluster.ensure_initialized():
            click.echo(f"initialised the embedded PostgreSQL cluster in {cluster.directory}")
    click.echo(f"starting MonClub (state in {config.home})...")
    tree.launch(config, foreground)
    _settle(config)
    click.echo(FIRST_COMMANDS)


def _settle(config) -> None:
    """Wait until the tree is healthy, or a program is down for good; print the tree, and fail
    with the programs' last log lines if it did not come up."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while not (state := tree.status(config))["healthy"] and time.monotonic() < deadline:
        if any(p["state"] in ("exited", "fatal") for p in state["programs"]):
            break
        time.sleep(0.2)
    click.echo(render(state))
    if not state["healthy"]:
        click.echo(_log_tails(config, state), err=True)
        fail(f"the tree did not come up (see above); logs are in {config.log_dir}; stop it with: monclub stop", 1)


@click.command()
@handled
def stop():
    """Stop every process of the tree, then supervisord."""
    config = load_config()
    if tree.shutdown(config):
        click.echo("MonClub stopped.")
    else:
        click.echo(f"MonClub is not running (state in {config.home}).")


@click.command()
@json_option
@click.option("--watch", is_flag=True, help="Redraw every second until interrupted.")
@handled
def status(as_json: bool, watch: bool):
    """Show the supervision tree; exit 1 when any part of it is not running."""
    config = load_config()
    while True:
        state = observe.enrich(config, tree.status(config))
        if watch and not as_json:
            click.clear()
        emit(as_json, state, render(state))
        if not watch:
            break
        time.sleep(1.0)
    if not state["healthy"]:
        raise SystemExit(1)


COMMANDS = (start, stop, status)
