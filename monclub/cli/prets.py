"""monclub livre ajouter | pret emprunter/retourner/prolonger/voir | prets: the loans branch."""

import datetime

import click

from monclub.cli.club import slug
from monclub.cli.common import emit, handled, json_option, load_config, on_database
from monclub.client import Client
from monclub.db import reads


def _when(epoch: float | None) -> str:
    return "-" if epoch is None else datetime.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S")


def _render(etat: dict) -> str:
    lines = [f"{etat['id']}: {etat['titre']}"]
    if etat["emprunteur"] is None:
        return lines[0] + "  (disponible)"
    state = "EN RETARD" if etat["en_retard"] else "en cours"
    lines.append(
        f"  emprunté par {etat['emprunteur']} jusqu'au {_when(etat['echeance'])} ({state}"
        f"{', prolongé' if etat['prolonge'] else ''}, {etat['relances']} relance(s),"
        f" prochaine {_when(etat['prochaine_relance'])})"
    )
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
    emit(as_json, result, f"{livre_id} emprunté par {membre_id} jusqu'au {_when(result['echeance'])}")


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
    return f"{livre_id} rendu par {membre_id}" + (" en retard" if result["en_retard"] else "")


def _prolonge(livre_id, membre_id, result) -> str:
    """Extend a loan once, unless it is overdue."""
    return f"prêt de {livre_id} prolongé jusqu'au {_when(result['echeance'])}"


_loan_command("retourner", _retourne)
_loan_command("prolonger", _prolonge)


@pret.command("voir")
@click.argument("livre_id")
@json_option
@handled
def pret_voir(livre_id, as_json):
    """Show a copy and its current loan."""
    with Client(load_config()) as client:
        etat = client.livre(livre_id)
    emit(as_json, etat, _render(etat))


@click.command()
@click.option("--en-retard", is_flag=True, help="Only overdue loans.")
@json_option
@handled
def prets(en_retard, as_json):
    """List the loans in progress (read from PostgreSQL)."""
    data = on_database(reads.prets_en_cours, en_retard)
    text = "\n".join(
        f"{d['livre']:<24} membre {d['membre']:<6} jusqu'au {_when(d['echeance'])}"
        f"{'  EN RETARD' if d['en_retard'] else ''}  {d['titre']}"
        for d in data
    )
    emit(as_json, data, text or "no loan")


COMMANDS = (livre, pret, prets)
