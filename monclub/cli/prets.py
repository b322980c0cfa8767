"""monclub livre ajouter | pret emprunter/retourner/prolonger/voir | prets: the loans branch."""

import datetime

import click

from monclub.cli.common import emit, handled, json_option, load_config, on_database
from monclub.client.ids import slug
from monclub.client.sync import Client
from monclub.db import reads
from monclub.tree import status as tree_status
from monclub.words import compte


def _when(epoch: float | None) -> str:
    return "-" if epoch is None else datetime.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S")


def _render(etat: dict) -> str:
    lines = [f"{etat['id']}: {etat['titre']}" + ("  (available)" if etat["emprunteur"] is None else "")]
    if etat["emprunteur"] is not None:
        lines.append(
            f"  pret to membre {etat['emprunteur']} until {_when(etat['echeance'])}"
            f" ({'en_retard' if etat['en_retard'] else 'in progress'}{', prolonge' if etat['prolonge'] else ''},"
            f" {compte(etat['relances'], 'relance')} sent, next relance {_when(etat['prochaine_relance'])})"
        )
    if "owner" in etat:
        lines.append(f"  owner: {tree_status.describe_owner(etat['owner'])}")
    return "\n".join(lines)


@click.group()
def livre():
    """Book copies."""


@livre.command("ajouter")
@click.argument("titre")
@click.option("--id", "livre_id", default=None, help="The copy's id (default: from the titre).")
@json_option
@handled
def livre_ajouter(titre, livre_id, as_json):
    """Add a book copy."""
    with Client(load_config()) as client:
        result = client.ajouter_livre(slug(titre) if livre_id is None else livre_id, titre)
    emit(as_json, result["livre"], _render(result["livre"]))


@livre.command("liste")
@json_option
@handled
def livre_liste(as_json):
    """List every book copy and who has it (read from PostgreSQL)."""
    data = on_database(reads.livres)
    text = "\n".join(
        f"{d['id']:<24} "
        + ("available" if d["emprunteur"] is None else f"membre {d['emprunteur']} until {_when(d['echeance'])}")
        + f"  {d['titre']}"
        for d in data
    )
    emit(as_json, data, text or "no livre yet")


@click.group()
def pret():
    """Loans, through the shard that owns each copy."""


@pret.command("emprunter")
@click.argument("livre_id")
@click.argument("membre_id", type=int)
@click.option("--jours", type=int, default=None, help="Length of the loan in loan days (default: [prets] jours).")
@json_option
@handled
def pret_emprunter(livre_id, membre_id, jours, as_json):
    """Borrow a copy (refused with deja_emprunte while it is out)."""
    config = load_config()
    with Client(config) as client:
        result = client.emprunter(livre_id, membre_id, config.pret_jours if jours is None else jours)
    emit(as_json, result, f"{livre_id}: pret to membre {membre_id} until {_when(result['echeance'])}")


def _loan_command(name: str, describe):
    @pret.command(name, help=describe.__doc__)
    @click.argument("livre_id")
    @click.argument("membre_id", type=int)
    @json_option
    @handled
    def command(livre_id, membre_id, as_json):
        with Client(load_config()) as client:
            result = getattr(client, name)(livre_id, membre_id)
        emit(as_json, result, describe(livre_id, membre_id, result))

    return command


def _retourne(livre_id, membre_id, result) -> str:
    """Return a copy (only its borrower can)."""
    return f"{livre_id}: returned by membre {membre_id}" + (", en_retard" if result["en_retard"] else ", on time")


def _prolonge(livre_id, membre_id, result) -> str:
    """Extend a loan once, unless it is overdue."""
    return f"{livre_id}: pret prolonge until {_when(result['echeance'])}"


_loan_command("retourner", _retourne)
_loan_command("prolonger", _prolonge)


@pret.command("voir")
@click.argument("livre_id")
@json_option
@handled
def pret_voir(livre_id, as_json):
    """Show a copy, its current loan, and the shard process that owns it."""
    config = load_config()
    with Client(config) as client:
        etat = client.livre(livre_id)
    etat["owner"] = tree_status.owner(config, "prets", livre_id)
    emit(as_json, etat, _render(etat))


@click.command()
@click.option("--en-retard", is_flag=True, help="Only overdue loans.")
@json_option
@handled
def prets(en_retard, as_json):
    """List the loans in progress (read from PostgreSQL)."""
    data = on_database(reads.prets_en_cours, en_retard)
    text = "\n".join(
        f"{d['livre']:<24} membre {d['membre']:<6} until {_when(d['echeance'])}"
        f"{'  en_retard' if d['en_retard'] else ''}  {d['titre']}"
        for d in data
    )
    emit(as_json, data, text or ("no pret en_retard" if en_retard else "no pret in progress"))


COMMANDS = (livre, pret, prets)
