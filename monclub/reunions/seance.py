"""The séance aggregate: a pure functional core.

`decide`-style functions take the current state and a command and return the events it produces,
or raise `Refus`; `appliquer` folds one event into the state. No I/O here: the shard process
around it persists the events and only then keeps the new state.
"""

from dataclasses import dataclass, replace

from immutables import Map

from monclub.errors import Refus
from monclub.words import compte

AUCUN: Map = Map()


@dataclass(frozen=True, slots=True)
class Seance:
    """`inscrits` maps each registered membre to its rank (registration or promotion order): a
    persistent map, so that checking and adding a membre stay cheap however full the séance is,
    while every state remains immutable. `attente` is the FIFO waiting list. `quand`, when it
    takes place, in the one form the field check gives (an RFC 3339 instant in UTC), so that equal
    strings are equal instants; None for a séance without a date."""

    id: str
    titre: str
    places: int
    attente_max: int
    tarif: int
    inscrits: Map = AUCUN
    attente: tuple[int, ...] = ()
    annulee: bool = False
    rangs: int = 0
    quand: str | None = None


def seance(
    seance_id: str,
    titre: str,
    places: int,
    attente_max: int,
    tarif: int,
    inscrits: tuple[int, ...] = (),
    attente: tuple[int, ...] = (),
    annulee: bool = False,
    quand: str | None = None,
) -> Seance:
    """A séance from its stored rows, `inscrits` in rank order."""
    rangs = Map({membre: rang for rang, membre in enumerate(inscrits)}) if inscrits else AUCUN
    return Seance(seance_id, titre, places, attente_max, tarif, rangs, tuple(attente), annulee, len(inscrits), quand)


def liste_inscrits(seance: Seance) -> tuple[int, ...]:
    return tuple(sorted(seance.inscrits, key=seance.inscrits.__getitem__))


@dataclass(frozen=True)
class SeanceCreee:
    seance: str
    titre: str
    places: int
    attente_max: int
    tarif: int
    quand: str | None = None


@dataclass(frozen=True)
class MembreInscrit:
    seance: str
    membre: int


@dataclass(frozen=True)
class MembreMisEnAttente:
    seance: str
    membre: int
    position: int


@dataclass(frozen=True)
class MembreDesinscrit:
    seance: str
    membre: int
    etait_inscrit: bool


@dataclass(frozen=True)
class MembrePromu:
    seance: str
    membre: int


@dataclass(frozen=True)
class PlacesChangees:
    seance: str
    places: int


@dataclass(frozen=True)
class SeanceAnnulee:
    seance: str
    inscrits: tuple[int, ...]
    attente: tuple[int, ...]


@dataclass(frozen=True)
class SeanceDeplacee:
    """`avant`: when it was to take place (None if it had no date); `inscrits` and `attente`, who
    is to be told, as the cancellation names them."""

    seance: str
    avant: str | None
    quand: str
    inscrits: tuple[int, ...]
    attente: tuple[int, ...]


Event = (
    SeanceCreee
    | MembreInscrit
    | MembreMisEnAttente
    | MembreDesinscrit
    | MembrePromu
    | PlacesChangees
    | SeanceAnnulee
    | SeanceDeplacee
)


def _ouverte(seance: Seance) -> Seance:
    if seance.annulee:
        raise Refus(f"{seance.id} is cancelled", "seance_annulee")
    return seance


def creer(
    seance_id: str, titre: str, places: int, attente_max: int, tarif: int, quand: str | None = None
) -> list[Event]:
    if places < 0 or attente_max < 0 or tarif < 0:
        raise Refus("places, attente and tarif must be zero or more", "invalid_request")
    return [SeanceCreee(seance_id, titre, places, attente_max, tarif, quand)]


def inscrire(seance: Seance, membre: int) -> list[Event]:
    _ouverte(seance)
    if membre in seance.inscrits:
        raise Refus(f"membre {membre} is already registered in {seance.id}", "deja_inscrit")
    if membre in seance.attente:
        raise Refus(f"membre {membre} is already waiting for {seance.id}", "deja_inscrit")
    if len(seance.inscrits) < seance.places:
        return [MembreInscrit(seance.id, membre)]
    if len(seance.attente) < seance.attente_max:
        return [MembreMisEnAttente(seance.id, membre, len(seance.attente) + 1)]
    raise Refus(f"{seance.id} is full and so is its waiting list", "seance_complete")


def desinscrire(seance: Seance, membre: int) -> list[Event]:
    _ouverte(seance)
    if membre in seance.attente:
        return [MembreDesinscrit(seance.id, membre, etait_inscrit=False)]
    if membre not in seance.inscrits:
        raise Refus(f"membre {membre} is neither registered nor waiting in {seance.id}", "non_inscrit")
    events: list[Event] = [MembreDesinscrit(seance.id, membre, etait_inscrit=True)]
    if seance.attente:
        events.append(MembrePromu(seance.id, seance.attente[0]))
    return events


def changer_places(seance: Seance, places: int) -> list[Event]:
    _ouverte(seance)
    if places < len(seance.inscrits):
        raise Refus(
            f"{seance.id} has {compte(len(seance.inscrits), 'inscrit')}, cannot lower places to {places}",
            "places_insuffisantes",
        )
    promus = seance.attente[: places - len(seance.inscrits)]
    return [PlacesChangees(seance.id, places), *(MembrePromu(seance.id, m) for m in promus)]


def annuler(seance: Seance) -> list[Event]:
    """Cancel the séance; the event names everyone registered or waiting, to be told and refunded."""
    _ouverte(seance)
    return [SeanceAnnulee(seance.id, liste_inscrits(seance), seance.attente)]


def deplacer(seance: Seance, quand: str) -> list[Event]:
    """Move the séance to `quand`; the event names everyone registered or waiting, to be told.
    Moving it where it already is changes nothing and tells nobody: a success without event rather
    than a refusal, since the séance is where it was asked to be (a resend with a new request id,
    or two organisers making the same move, is not an error)."""
    _ouverte(seance)
    if quand == seance.quand:
        return []
    return [SeanceDeplacee(seance.id, seance.quand, quand, liste_inscrits(seance), seance.attente)]


def appliquer(seance: Seance | None, event: Event) -> Seance:
    """Fold one event into the state (None before the séance exists)."""
    if isinstance(event, SeanceCreee):
        return Seance(event.seance, event.titre, event.places, event.attente_max, event.tarif, quand=event.quand)
    if seance is None:
        raise TypeError(f"{event!r} on a séance that does not exist")
    match event:
        case MembreInscrit():
            return _ajouter(seance, event.membre, seance.attente)
        case MembreMisEnAttente():
            return replace(seance, attente=seance.attente + (event.membre,))
        case MembreDesinscrit():
            if event.etait_inscrit:
                return replace(seance, inscrits=seance.inscrits.delete(event.membre))
            return replace(seance, attente=_sans(seance.attente, event.membre))
        case MembrePromu():
            return _ajouter(seance, event.membre, _sans(seance.attente, event.membre))
        case PlacesChangees():
            return replace(seance, places=event.places)
        case SeanceAnnulee():
            return replace(seance, annulee=True)
        case SeanceDeplacee():
            return replace(seance, quand=event.quand)
    raise TypeError(f"not a séance event: {event!r}")


def _ajouter(seance: Seance, membre: int, attente: tuple[int, ...]) -> Seance:
    """Built field by field: every registration passes here, and dataclasses.replace, which reads
    the fields' declarations at each call, cost four times as much."""
    s = seance
    inscrits = s.inscrits.set(membre, s.rangs)
    return Seance(s.id, s.titre, s.places, s.attente_max, s.tarif, inscrits, attente, s.annulee, s.rangs + 1, s.quand)


def _sans(attente: tuple[int, ...], membre: int) -> tuple[int, ...]:
    return tuple(m for m in attente if m != membre)


def appliquer_tous(seance: Seance | None, events: list[Event]) -> Seance:
    for event in events:
        seance = appliquer(seance, event)
    if seance is None:
        raise TypeError("no séance, and no event that creates one")
    return seance


def places_restantes(seance: Seance) -> int:
    return seance.places - len(seance.inscrits)


def etat(seance: Seance) -> dict:
    return {
        "id": seance.id,
        "titre": seance.titre,
        "places": seance.places,
        "attente_max": seance.attente_max,
        "tarif": seance.tarif,
        "inscrits": list(liste_inscrits(seance)),
        "attente": list(seance.attente),
        "places_restantes": places_restantes(seance),
        "annulee": seance.annulee,
        "quand": seance.quand,
    }
