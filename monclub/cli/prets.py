"""The loans branch: `livre liste` and `prets`, read from PostgreSQL, and the text of its ops' answers
(`livre ajouter`, `pret emprunter/retourner/prolonger/voir` are made from their declarations:
monclub.cli.declared)."""

import datetime

import click

from monclub.cli.common import emit, handled, json_option, on_database
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


def _prete(sent: dict, result) -> str:
    return f"{sent['livre']}: pret to membre {sent['membre']} until {_when(result['echeance'])}"


def _retourne(sent: dict, result) -> str:
    late = ", en_retard" if result["en_retard"] else ", on time"
    return f"{sent['livre']}: returned by membre {sent['membre']}{late}"


COMMANDS = (livre, pret, prets)
TEXTS = {
    ("prets", "ajouter"): lambda sent, created: _render(created),
    ("prets", "etat"): lambda sent, etat: _render(etat),
    ("prets", "emprunter"): _prete,
    ("prets", "retourner"): _retourne,
    ("prets", "prolonger"): lambda sent, result: f"{sent['livre']}: pret prolonge until {_when(result['echeance'])}",
}
"""The text of the loans' ops (monclub.cli.declared makes their commands)."""
