"""The club's commands: membres and séances, their listings read from PostgreSQL, and the text
of their ops' answers (the commands of the ops themselves are made from their declarations:
monclub.cli.declared)."""

from datetime import UTC, datetime

import click

from monclub.cli.common import emit, handled, json_option, load_config, on_database
from monclub.cli.quand import heure, ordered, zone_name
from monclub.db import reads
from monclub.tree import status as tree_status
from monclub.words import compte, montant


def _quand(quand: str | None) -> str:
    """When, in the club's time zone, named: `Thu 2026-12-10 19:00 (Europe/Paris)`."""
    zone = load_config().zone
    return f"{heure(quand, zone)} ({zone_name(zone)})"


def _render_seance(etat: dict) -> str:
    lines = [
        f"{etat['id']}: {etat['titre']}" + (" (annulee)" if etat.get("annulee") else ""),
        f"  quand: {_quand(etat['quand']) if etat.get('quand') else '-'}",
        f"  {compte(etat['places'], 'place')} ({etat['places_restantes']} left), "
        f"attente max {etat['attente_max']}, tarif {montant(etat['tarif'])}",
        f"  inscrits: {', '.join(map(str, etat['inscrits'])) or '-'}",
        f"  attente:  {', '.join(map(str, etat['attente'])) or '-'}",
    ]
    if "owner" in etat:
        lines.append(f"  owner: {tree_status.describe_owner(etat['owner'])}")
    return "\n".join(lines)


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


def _inscrit(sent: dict, result) -> str:
    if result["statut"] == "en_attente":
        return f"membre {sent['membre']} in attente on {sent['seance']}, position {result['position']}"
    return f"membre {sent['membre']} inscrit on {sent['seance']}"


def _desinscrit(sent: dict, result) -> str:
    promu = f"; membre {result['promu']} promoted from attente" if result["promu"] else ""
    return f"membre {sent['membre']} desinscrit from {sent['seance']}{promu}"


def _places(sent: dict, result) -> str:
    promus = ", ".join(map(str, result["promus"]))
    promoted = f"promoted from attente: membre {promus}" if promus else "nobody promoted"
    return f"{sent['seance']}: {compte(result['places'], 'place')}; {promoted}"


def _annulee(sent: dict, result) -> str:
    notified = f"{compte(len(result['inscrits']), 'inscrit')}, {len(result['attente'])} in attente"
    return f"{sent['seance']} annulee; notified: {notified}"


def _deplacee(sent: dict, result) -> str:
    if result["statut"] == "inchangee":
        return f"{sent['seance']} already takes place {_quand(result['quand'])}: nothing changed, nobody told"
    avant = _quand(result["avant"]) if result["avant"] else "no date"
    return f"{sent['seance']} deplacee from {avant} to {_quand(result['quand'])}; its inscrits and attente are told"


COMMANDS = (membre, seance)
TEXTS = {
    ("accueil", "creer_membre"): lambda sent, created: f"membre {created['id']}: {created['nom']}",
    ("reunions", "creer"): lambda sent, created: _render_seance(created),
    ("reunions", "etat"): lambda sent, etat: _render_seance(etat),
    ("reunions", "changer_places"): _places,
    ("reunions", "annuler"): _annulee,
    ("reunions", "deplacer"): _deplacee,
    ("reunions", "inscrire"): _inscrit,
    ("reunions", "desinscrire"): _desinscrit,
}
"""The text of the club's ops (monclub.cli.declared makes their commands)."""
