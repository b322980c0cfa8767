"""The `monclub` command: the daemon (start, stop, status) and the club's commands.

A failure prints one line, `error: CODE: message`, and exits non-zero: 1 for a refusal or an
unavailable service, 2 for a configuration problem.
"""

import click

from monclub.cli import club, daemon, database, declared, drill, events, history, keys, node, prets
from monclub.club.texts import TEXTS


@click.group()
def main():
    """MonClub: séances owned by supervised shard processes, on PostgreSQL."""


for command in (
    *daemon.COMMANDS,
    *club.COMMANDS,
    *events.COMMANDS,
    *drill.COMMANDS,
    *prets.COMMANDS,
    *keys.COMMANDS,
    *node.COMMANDS,
    *history.COMMANDS,
    *database.COMMANDS,
):
    main.add_command(command)
declared.attach(main, TEXTS)
