"""The loans branch: `livre liste` and `prets`, read from PostgreSQL, and the text of its ops' answers
(`livre ajouter`, `pret emprunter/retourner/prolonger/voir` are made from their declarations:
monclub.cli.declared)."""

import click

from monclub.cli.common import emit, handled, json_option, on_database
from monclub.club.texts import when
from monclub.db import reads


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
        + ("available" if d["emprunteur"] is None else f"membre {d['emprunteur']} until {when(d['echeance'])}")
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
        f"{d['livre']:<24} membre {d['membre']:<6} until {when(d['echeance'])}"
        f"{'  en_retard' if d['en_retard'] else ''}  {d['titre']}"
        for d in data
    )
    emit(as_json, data, text or ("no pret en_retard" if en_retard else "no pret in progress"))


COMMANDS = (livre, pret, prets)
