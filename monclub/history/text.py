"""A history in words, one line per row: `18:02:11 membre_inscrit Marie (rang 3)`, a line with the
date whenever it changes, times and dates in the club's time zone. Members are named (their ids
where no name is known); a séance's ranks come from replaying its events as they are told, so they
are what the séance had then."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from monclub.history.replay import event_of, kind_of, replay
from monclub.words import compte, montant


@dataclass(frozen=True)
class Context:
    """What a row's words need beside its payload: the member it names, the aggregate's state after
    it (None when unknown), and the zone dates are written in."""

    who: str
    after: Any
    zone: tzinfo | None


Words = Callable[[dict, Context], str]


def _rang(c: Context) -> str:
    return f"{c.who} (rang {len(c.after.inscrits)})" if c.after is not None else c.who


def _when(epoch: float | None, c: Context) -> str:
    return "-" if epoch is None else datetime.fromtimestamp(epoch, c.zone).strftime("%Y-%m-%d %H:%M")


def _date(quand: str | None, c: Context) -> str:
    return "no date" if quand is None else datetime.fromisoformat(quand).astimezone(c.zone).strftime("%Y-%m-%d %H:%M")


def _snapshot(p: dict, c: Context) -> str:
    if "seance" in p:
        return f"state kept: {compte(len(p['inscrits']), 'inscrit')}, {len(p['attente'])} in attente"
    return "state kept: " + (f"lent to membre {p['emprunteur']}" if p["emprunteur"] is not None else "available")


WORDS: dict[str, Words] = {
    "seance_creee": lambda p, c: (
        f"{p['titre']!r}, {compte(p['places'], 'place')}, attente {p['attente_max']}, {montant(p['tarif'])}"
        + (f", {_date(p['quand'], c)}" if p.get("quand") else "")
    ),
    "membre_inscrit": lambda p, c: _rang(c),
    "membre_mis_en_attente": lambda p, c: f"{c.who} (attente {p['position']})",
    "membre_desinscrit": lambda p, c: c.who + ("" if p["etait_inscrit"] else " from attente"),
    "membre_promu": lambda p, c: f"{c.who} from attente",
    "places_changees": lambda p, c: compte(p["places"], "place"),
    "seance_annulee": lambda p, c: f"{compte(len(p['inscrits']), 'inscrit')} and {len(p['attente'])} in attente told",
    "seance_deplacee": lambda p, c: (
        f"from {_date(p['avant'], c)} to {_date(p['quand'], c)}, "
        f"{compte(len(p['inscrits']), 'inscrit')} and {len(p['attente'])} in attente told"
    ),
    "livre_ajoute": lambda p, c: repr(p["titre"]),
    "livre_emprunte": lambda p, c: f"{c.who} until {_when(p['echeance'], c)}",
    "pret_prolonge": lambda p, c: f"{c.who} until {_when(p['echeance'], c)}",
    "livre_retourne": lambda p, c: c.who + (" late" if p["en_retard"] else ""),
    "pret_en_retard": lambda p, c: f"{c.who}, due {_when(p['echeance'], c)}",
    "relance": lambda p, c: f"{c.who}, relance {p['numero']}",
    "membre_cree": lambda p, c: c.who,
    "paiement_regle": lambda p, c: f"paiement {p['paiement']} of {c.who} for {p['seance']} ({montant(p['montant'])})",
    "snapshot": _snapshot,
}


def _raw(p: dict, c: Context) -> str:
    return json.dumps(p, ensure_ascii=False)


def named(rows: list[dict]) -> set[int]:
    """The members these rows name (to look their names up)."""
    return {row["payload"]["membre"] for row in rows if isinstance(row["payload"].get("membre"), int)}


def told(
    rows: list[dict], noms: dict[int, str], zone: tzinfo | None = None, across: bool = False, before=None
) -> list[str]:
    """The lines of `rows`, in `zone` (None: the machine's); `across`: rows of several aggregates,
    each line then names its own. `before`: the aggregate's state before the first row, when the
    rows are a page that does not start at its first (so that a rank is the one it had then)."""
    lines: list[str] = []
    states: dict[str, object] = {} if before is None or not rows else {rows[0]["aggregate"]: before}
    day = None
    for row in rows:
        when = datetime.fromisoformat(row["at"]).astimezone(zone)
        if when.date() != day:
            day = when.date()
            lines.append(day.isoformat())
        membre = row["payload"].get("membre")
        context = Context(noms.get(membre, f"membre {membre}"), _replayed(states, row), zone)
        words = WORDS.get(row["type"], _raw)(row["payload"], context)
        lines.append(f"{when:%H:%M:%S} {row['type']} {words}" + (f"  [{row['aggregate']}]" if across else ""))
    return lines


def _replayed(states: dict[str, object], row: dict):
    """The aggregate's state after this row, when its history so far replays (a member's history
    holds only some of each séance's events: then None)."""
    kind = kind_of(row["aggregate"])
    if kind is None:
        return None
    try:
        states[row["aggregate"]] = (
            replay(kind, [row])
            if row["type"] == "snapshot"
            else kind.core.appliquer(states.get(row["aggregate"]), event_of(kind, row))
        )
    except (TypeError, KeyError):
        states.pop(row["aggregate"], None)
    return states.get(row["aggregate"])
