"""`monclub database`: the highly available database's servers (docs/database.md). MonClub
never moves the primary itself; `switchover` asks Patroni to, for planned work on a host."""

import click

from monclub.cli.common import emit, fail, handled, json_option, load_config
from monclub.postgres.ha import rest


@click.group()
def database():
    """The database's servers under Patroni: liste, switchover."""


def _patroni_urls() -> list[str]:
    urls = list(load_config().patroni_urls)
    if not urls:
        fail(
            "no patroni_urls in the configuration: name each server's Patroni REST API "
            '(patroni_urls = ["http://db1:8008", …], or MONCLUB_PATRONI_URLS)',
            2,
            error_code="config",
        )
    return urls


@database.command()
@json_option
@handled
def liste(as_json: bool):
    """Each server as its Patroni says: its name, role (primary, replica, unreachable), timeline."""
    found = [vars(member) for member in rest.members(_patroni_urls())]
    lines = [f"{m['name']:<10} {m['role']:<12} timeline {m['timeline'] or '-':<4} {m['url']}" for m in found]
    emit(as_json, found, "\n".join(lines))


@database.command()
@click.option("--candidate", help="The member to promote (default: Patroni's choice, the synchronous standby).")
@json_option
@handled
def switchover(candidate: str | None, as_json: bool):
    """Move the primary to another server, planned (before work on its host): the primary's
    Patroni stops it cleanly and promotes the synchronous standby, which has every commit. The
    club's clients wait meanwhile (a few seconds), and no request fails; the command returns once
    the new primary takes writes."""
    moved = rest.switchover(_patroni_urls(), candidate)
    emit(
        as_json,
        {"ok": True, **moved},
        f"primary moved from {moved['from']} to {moved['to']} in {moved['seconds']}s (Patroni: {moved['patroni']})",
    )


COMMANDS = [database]
