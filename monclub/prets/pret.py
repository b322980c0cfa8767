"""The prêt aggregate, keyed by the book copy (livre): a pure functional core.

One borrower at a time holds by construction: emprunter is refused while the copy is out. Time is
passed in (`now`, seconds since the epoch), never read, and so are the loan's length and the
reminder settings. Reminders are state: `prochaine` is when the next one falls due; `echoir`
decides what is due at `now` and sets the next one from `now`, so a loan that missed several
intervals while nothing ran gets one relance, not a burst.
"""

from dataclasses import dataclass, replace

from monclub.errors import Refus


@dataclass(frozen=True)
class Livre:
    id: str
    titre: str
    emprunteur: int | None = None
    echeance: float | None = None
    prolonge: bool = False
    retard_signale: bool = False
    relances: int = 0
    prochaine: float | None = None


@dataclass(frozen=True)
class LivreAjoute:
    livre: str
    titre: str


@dataclass(frozen=True)
class LivreEmprunte:
    livre: str
    membre: int
    echeance: float


@dataclass(frozen=True)
class LivreRetourne:
    livre: str
    membre: int
    en_retard: bool


@dataclass(frozen=True)
class PretProlonge:
    livre: str
    membre: int
    echeance: float


@dataclass(frozen=True)
class PretEnRetard:
    livre: str
    membre: int
    echeance: float
    prochaine: float | None


@dataclass(frozen=True)
class Relance:
    livre: str
    membre: int
    numero: int
    prochaine: float | None


Event = LivreAjoute | LivreEmprunte | LivreRetourne | PretProlonge | PretEnRetard | Relance


@dataclass(frozen=True)
class Rythme:
    """How reminders are paced: every `intervalle` seconds after the due date, at most `maximum`."""

    intervalle: float
    maximum: int


def ajouter(livre: str, titre: str) -> list[Event]:
    return [LivreAjoute(livre, titre)]


def _echeance(livre: Livre, membre: int) -> float:
    """The due date of the loan of `livre` to `membre`, or Refus (a lent copy always has one)."""
    if livre.emprunteur is None or livre.echeance is None:
        raise Refus(f"{livre.id} is not lent", "non_emprunte")
    if livre.emprunteur != membre:
        raise Refus(f"{livre.id} is lent to another member", "non_emprunteur")
    return livre.echeance


def emprunter(livre: Livre, membre: int, duree: float, now: float) -> list[Event]:
    if livre.emprunteur is not None:
        raise Refus(f"{livre.id} is already lent", "deja_emprunte")
    return [LivreEmprunte(livre.id, membre, now + duree)]


def retourner(livre: Livre, membre: int, now: float) -> list[Event]:
    return [LivreRetourne(livre.id, membre, en_retard=now > _echeance(livre, membre))]


def prolonger(livre: Livre, membre: int, duree: float, now: float) -> list[Event]:
    echeance = _echeance(livre, membre)
    if livre.prolonge:
        raise Refus(f"the loan of {livre.id} was already extended once", "deja_prolonge")
    if now >= echeance:
        raise Refus(f"the loan of {livre.id} is due and cannot be extended", "en_retard")
    return [PretProlonge(livre.id, membre, echeance + duree)]


def echoir(livre: Livre, now: float, rythme: Rythme) -> list[Event]:
    """The reminder due at `now`, if any: pret_en_retard first, then relances up to the maximum."""
    if livre.emprunteur is None or livre.echeance is None or livre.prochaine is None or now < livre.prochaine:
        return []
    if not livre.retard_signale:
        suivante = now + rythme.intervalle if rythme.maximum > 0 else None
        return [PretEnRetard(livre.id, livre.emprunteur, livre.echeance, suivante)]
    numero = livre.relances + 1
    suivante = now + rythme.intervalle if numero < rythme.maximum else None
    return [Relance(livre.id, livre.emprunteur, numero, suivante)]


def appliquer(livre: Livre | None, event: Event) -> Livre:
    if isinstance(event, LivreAjoute):
        return Livre(event.livre, event.titre)
    if livre is None:
        raise TypeError(f"{event!r} on a livre that does not exist")
    match event:
        case LivreEmprunte():
            return replace(
                livre,
                emprunteur=event.membre,
                echeance=event.echeance,
                prolonge=False,
                retard_signale=False,
                relances=0,
                prochaine=event.echeance,
            )
        case LivreRetourne():
            return Livre(livre.id, livre.titre)
        case PretProlonge():
            return replace(livre, echeance=event.echeance, prolonge=True, prochaine=event.echeance)
        case PretEnRetard():
            return replace(livre, retard_signale=True, prochaine=event.prochaine)
        case Relance():
            return replace(livre, relances=event.numero, prochaine=event.prochaine)
    raise TypeError(f"not a prêt event: {event!r}")


def appliquer_tous(livre: Livre | None, events: list[Event]) -> Livre:
    for event in events:
        livre = appliquer(livre, event)
    if livre is None:
        raise TypeError("no livre, and no event that adds one")
    return livre


def etat(livre: Livre) -> dict:
    return {
        "id": livre.id,
        "titre": livre.titre,
        "emprunteur": livre.emprunteur,
        "echeance": livre.echeance,
        "prolonge": livre.prolonge,
        "en_retard": livre.retard_signale,
        "relances": livre.relances,
        "prochaine_relance": livre.prochaine,
    }
