"""The club's commands: membres, séances, inscriptions."""

import click

from monclub.cli.common import emit, handled, json_option, load_config, on_database
from monclub.client.ids import slug
from monclub.client.sync import Client
from monclub.db import reads
from monclub.tree import status as tree_status
from monclub.words import compte, montant


def _client() -> Client:
    return Client(load_config())


def _render_seance(etat: dict) -> str:
    lines = [
        f"{etat['id']}: {etat['titre']}" + (" (annulee)" if etat.get("annulee") else ""),
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


@membre.command("creer")
@click.argument("nom")
@click.option("--email", default=None)
@json_option
@handled
def membre_creer(nom: str, email: str | None, as_json: bool):
    """Create a member and print its id (through the accueil)."""
    with _client() as client:
        created = client.accueil("creer_membre", nom=nom, email=email)["membre"]
    emit(as_json, created, f"membre {created['id']}: {created['nom']}")


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


@seance.command("creer")
@click.argument("titre")
@click.option("--places", type=int, required=True)
@click.option("--attente", type=int, default=0, show_default=True, help="Size of the waiting list.")
@click.option("--tarif", type=int, default=0, show_default=True, help="Price in cents.")
@click.option("--id", "seance_id", default=None, help="The séance's id (default: from the titre).")
@json_option
@handled
def seance_creer(titre, places, attente, tarif, seance_id, as_json):
    """Create a séance."""
    with _client() as client:
        seance_id = slug(titre) if seance_id is None else seance_id
        result = client.creer(seance_id, titre, places=places, attente=attente, tarif=tarif)
    emit(as_json, result["seance"], _render_seance(result["seance"]))


@seance.command("places")
@click.argument("seance_id")
@click.argument("places", type=int)
@json_option
@handled
def seance_places(seance_id, places, as_json):
    """Change the number of places (raising it promotes from the waiting list)."""
    with _client() as client:
        result = client.changer_places(seance_id, places)
    promus = ", ".join(map(str, result["promus"]))
    promoted = f"promoted from attente: membre {promus}" if promus else "nobody promoted"
    emit(as_json, result, f"{seance_id}: {compte(result['places'], 'place')}; {promoted}")


@seance.command("annuler")
@click.argument("seance_id")
@json_option
@handled
def seance_annuler(seance_id, as_json):
    """Cancel a séance: everyone is told, pending payments cancelled, paid ones marked to refund."""
    with _client() as client:
        result = client.annuler(seance_id)
    emit(
        as_json,
        result,
        f"{seance_id} annulee; notified: {compte(len(result['inscrits']), 'inscrit')}, "
        f"{len(result['attente'])} in attente",
    )


@seance.command("voir")
@click.argument("seance_id")
@json_option
@handled
def seance_voir(seance_id, as_json):
    """Show a séance with its ordered inscrits and waiting list, and the shard process that owns it."""
    config = load_config()
    with Client(config) as client:
        etat = client.etat(seance_id)
    etat["owner"] = tree_status.owner(config, "reunions", seance_id)
    emit(as_json, etat, _render_seance(etat))


@seance.command("liste")
@json_option
@handled
def seance_liste(as_json):
    """List every séance (read from PostgreSQL)."""
    data = on_database(reads.seances)
    text = "\n".join(
        f"{r['id']:<24} inscrits {r['inscrits']}/{r['places']}  attente {r['en_attente']:<4} {r['titre']}"
        + ("  (annulee)" if r["annulee"] else "")
        for r in data
    )
    emit(as_json, data, text or "no seance yet")


def _inscription_command(describe):
    """A `SEANCE MEMBRE` command sent through the client method of the same name."""

    @click.command(describe.__name__, help=describe.__doc__)
    @click.argument("seance_id")
    @click.argument("membre_id", type=int)
    @json_option
    @handled
    def command(seance_id, membre_id, as_json):
        with _client() as client:
            result = getattr(client, describe.__name__)(seance_id, membre_id)
        emit(as_json, result, describe(seance_id, membre_id, result))

    return command


@_inscription_command
def inscrire(seance_id, membre_id, result) -> str:
    """Register a member (on the waiting list when the séance is full)."""
    if result["statut"] == "en_attente":
        return f"membre {membre_id} in attente on {seance_id}, position {result['position']}"
    return f"membre {membre_id} inscrit on {seance_id}"


@_inscription_command
def desinscrire(seance_id, membre_id, result) -> str:
    """Unregister a member (the first waiting member is promoted)."""
    promu = f"; membre {result['promu']} promoted from attente" if result["promu"] else ""
    return f"membre {membre_id} desinscrit from {seance_id}{promu}"


COMMANDS = (membre, seance, inscrire, desinscrire)
