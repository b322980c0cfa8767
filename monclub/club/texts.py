"""What is said of the club's ops, whatever the tool: the text of an op's answer (keyed by service
and op), the refusal's `error: CODE: message` line. The CLI prints them and the web program's
pages show them, so an organiser reads the same sentence in the terminal and in the browser."""

import datetime
from collections.abc import Callable

from monclub import config as configuration
from monclub.club.quand import heure, zone_name
from monclub.errors import InvalidField, MonclubError
from monclub.tree import status as tree_status
from monclub.words import compte, montant

Text = Callable[[dict, object], str]


def refusal_message(error: MonclubError) -> str:
    """The message of `error: CODE: message` (a broken field named first, with its rule)."""
    return f"{error.field}: {error.rule}" if isinstance(error, InvalidField) else error.message


def generic_text(sent: dict, answer: object) -> str:
    """One `name: value` line per field of the answer (the owner as `seance voir` writes it)."""
    if not isinstance(answer, dict):
        return str(answer)
    return "\n".join(
        f"{name}: {tree_status.describe_owner(value) if name == 'owner' else value}" for name, value in answer.items()
    )


def _quand(quand: str | None) -> str:
    """When, in the club's time zone, named: `Thu 2026-12-10 19:00 (Europe/Paris)`."""
    zone = configuration.load().zone
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


def when(epoch: float | None) -> str:
    return "-" if epoch is None else datetime.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S")


def _render(etat: dict) -> str:
    lines = [f"{etat['id']}: {etat['titre']}" + ("  (available)" if etat["emprunteur"] is None else "")]
    if etat["emprunteur"] is not None:
        lines.append(
            f"  pret to membre {etat['emprunteur']} until {when(etat['echeance'])}"
            f" ({'en_retard' if etat['en_retard'] else 'in progress'}{', prolonge' if etat['prolonge'] else ''},"
            f" {compte(etat['relances'], 'relance')} sent, next relance {when(etat['prochaine_relance'])})"
        )
    if "owner" in etat:
        lines.append(f"  owner: {tree_status.describe_owner(etat['owner'])}")
    return "\n".join(lines)


def _prete(sent: dict, result) -> str:
    return f"{sent['livre']}: pret to membre {sent['membre']} until {when(result['echeance'])}"


def _retourne(sent: dict, result) -> str:
    late = ", en_retard" if result["en_retard"] else ", on time"
    return f"{sent['livre']}: returned by membre {sent['membre']}{late}"


TEXTS = {
    ("accueil", "creer_membre"): lambda sent, created: f"membre {created['id']}: {created['nom']}",
    ("reunions", "creer"): lambda sent, created: _render_seance(created),
    ("reunions", "etat"): lambda sent, etat: _render_seance(etat),
    ("reunions", "changer_places"): _places,
    ("reunions", "annuler"): _annulee,
    ("reunions", "deplacer"): _deplacee,
    ("reunions", "inscrire"): _inscrit,
    ("reunions", "desinscrire"): _desinscrit,
    ("prets", "ajouter"): lambda sent, created: _render(created),
    ("prets", "etat"): lambda sent, etat: _render(etat),
    ("prets", "emprunter"): _prete,
    ("prets", "retourner"): _retourne,
    ("prets", "prolonger"): lambda sent, result: f"{sent['livre']}: pret prolonge until {when(result['echeance'])}",
    ("accueil", "regler_paiement"): lambda sent, done: f"paiement {done['id']} paye ({montant(done['montant'])})",
}


def answer_text(service: str, op: str, sent: dict, answer: object) -> str:
    """The text of `op`'s answer, as its command prints it."""
    return TEXTS.get((service, op), generic_text)(sent, answer)
