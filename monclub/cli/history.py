"""monclub history seance|livre|membre ID [--at TIME], and monclub export events --since SEQ|TIME:
read from the archive on a read-only session (monclub.db.history)."""

import sys

import click

from monclub.cli.common import emit, handled, json_option, load_config, read_session
from monclub.club.texts import TEXTS
from monclub.contract import protocol
from monclub.db import history as archive
from monclub.history import text
from monclub.history.replay import KINDS, moment, state_then

# A state replayed prints as `seance voir` and `pret voir` print it (their text hooks).
RENDER = {"seance": TEXTS[("reunions", "etat")], "livre": TEXTS[("prets", "etat")]}


@click.group()
def history():
    """Every event of a séance, a copy or a member, in order, from the archive."""


def _aggregate_command(kind: str):
    @history.command(kind)
    @click.argument("key", metavar="ID")
    @click.option(
        "--at",
        "at",
        default=None,
        help="Print the state it had at this time (ISO 8601; without offset, in the club's time zone), "
        "replayed from its events.",
    )
    @json_option
    @handled
    def command(key: str, at: str | None, as_json: bool):
        aggregate = protocol.aggregate("id", f"{kind}/{key}")
        config = load_config()
        with read_session(config.conninfo()) as conn:
            if at is not None:
                etat = state_then(conn, aggregate, moment("at", at, config.zone))
                emit(as_json, etat, RENDER[kind]({}, etat))
                return
            _told(conn, aggregate, None, as_json)

    command.__doc__ = f"Every event of a {kind}, in order (--at: its state then)."
    return command


for _kind in KINDS:
    _aggregate_command(_kind)


@history.command("membre")
@click.argument("key", metavar="ID", type=int)
@json_option
@handled
def membre(key: int, as_json: bool):
    """Every event that names a member, across séances and copies, in order."""
    protocol.membre_id("id", key)
    with read_session(load_config().conninfo()) as conn:
        _told(conn, None, key, as_json)


def _told(conn, aggregate: str | None, membre: int | None, as_json: bool) -> None:
    rows = archive.page(conn, aggregate, membre, None, None)
    noms = archive.noms(conn, sorted(text.named(rows)))
    whose = aggregate or f"membre/{membre}"
    lines = text.told(rows, noms, load_config().zone, across=membre is not None)
    emit(as_json, rows, "\n".join(lines) or f"no history for {whose}")


@click.group()
def export():
    """Exports for the club's accounts and other systems."""


@export.command("events")
@click.option("--since", required=True, help="A sequence number (from 1), or an ISO 8601 time.")
@handled
def export_events(since: str):
    """Every archived event from SEQ on (or committed at or after TIME), one JSON line each, streamed."""
    zone = load_config().zone
    seq, at = (int(since), None) if since.isdigit() else (None, moment("since", since, zone).isoformat())
    if seq is not None:
        protocol.row_id("since", seq)
    with read_session(load_config().conninfo()) as conn:
        for line in archive.exported(conn, seq, at):
            sys.stdout.write(line + "\n")  # not click.echo, which flushes every line: one write(2) each


COMMANDS = (history, export)
