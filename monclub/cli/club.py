"""The club's commands: membres and séances, their listings read from PostgreSQL, and the text
of their ops' answers (the commands of the ops themselves are made from their declarations:
monclub.cli.declared)."""

from datetime import UTC, datetime

import click

from monclub.cli.common import emit, handled, json_option, load_config, on_database
from monclub.club.quand import heure, ordered
from monclub.db import reads


@click.group()
def membre():
    """Members (a plain table)."""


@membre.command("liste")
@json_option
@handled
def membre_liste(as_json: bool):
    """List every membre (read from PostgreSQL)."""
    data = on_database(reads.membres)
    text = "\n".join(f"{d['id']:>6}  {d['nom']}" + (f" <{d['email']}>" if d["email"] else "") for d in data)
    emit(as_json, data, text or "no membre yet")


@click.group()
def seance():
    """Séances, through the shard that owns each one."""


@seance.command("liste")
@json_option
@handled
def seance_liste(as_json):
    """List every séance (read from PostgreSQL): today's and those to come first, soonest first, then
    those without a date, then the past ones, latest first; dates in the club's time zone."""
    zone = load_config().zone
    data = ordered(on_database(reads.seances), zone, datetime.now(UTC))
    text = "\n".join(
        f"{r['id']:<24} {heure(r['quand'], zone):<20}  inscrits {r['inscrits']}/{r['places']}  "
        f"attente {r['en_attente']:<4} {r['titre']}"
        + ("  (annulee)" if r["annulee"] else "")
        + ("  (passee)" if r["passee"] else "")
        for r in data
    )
    emit(as_json, data, text or "no seance yet")


COMMANDS = (membre, seance)
