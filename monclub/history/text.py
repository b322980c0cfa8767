"""A history in words, one line per row: `18:02:11 membre_inscrit Marie (rang 3)`, a line with the
date whenever it changes. Members are named (their ids where no name is known); a séance's ranks
come from replaying its events as they are told, so they are what the séance had then."""

import json
from collections.abc import Callable
from datetime import datetime

from monclub.history.replay import event_of, kind_of, replay
from monclub.words import compte, montant

Words = Callable[[dict, str, object], str]


def _rang(who: str, after) -> str:
    return f"{who} (rang {len(after.inscrits)})" if after is not None else who


def _when(epoch: float | None) -> str:
    return "-" if epoch is None else datetime.fromtimestamp(epoch).astimezone().strftime("%Y-%m-%d %H:%M")


def _snapshot(p: dict, who: str, after) -> str:
    if "seance" in p:
        return f"state kept: {compte(len(p['inscrits']), 'inscrit')}, {len(p['attente'])} in attente"
    return "state kept: " + (f"lent to membre {p['emprunteur']}" if p["emprunteur"] is not None else "available")


WORDS: dict[str, Words] = {
    "seance_creee": lambda p, who, after: (
        f"{p['titre']!r}, {compte(p['places'], 'place')}, attente {p['attente_max']}, {montant(p['tarif'])}"
    ),
    "membre_inscrit": lambda p, who, after: _rang(who, after),
    "membre_mis_en_attente": lambda p, who, after: f"{who} (attente {p['position']})",
    "membre_desinscrit": lambda p, who, after: who + ("" if p["etait_inscrit"] else " from attente"),
    "membre_promu": lambda p, who, after: f"{who} from attente",
    "places_changees": lambda p, who, after: compte(p["places"], "place"),
    "seance_annulee": lambda p, who, after: (
        f"{compte(len(p['inscrits']), 'inscrit')} and {len(p['attente'])} in attente told"
    ),
    "livre_ajoute": lambda p, who, after: repr(p["titre"]),
    "livre_emprunte": lambda p, who, after: f"{who} until {_when(p['echeance'])}",
    "pret_prolonge": lambda p, who, after: f"{who} until {_when(p['echeance'])}",
    "livre_retourne": lambda p, who, after: who + (" late" if p["en_retard"] else ""),
    "pret_en_retard": lambda p, who, after: f"{who}, due {_when(p['echeance'])}",
    "relance": lambda p, who, after: f"{who}, relance {p['numero']}",
    "membre_cree": lambda p, who, after: who,
    "paiement_regle": lambda p, who, after: (
        f"paiement {p['paiement']} of {who} for {p['seance']} ({montant(p['montant'])})"
    ),
    "snapshot": _snapshot,
}


def named(rows: list[dict]) -> set[int]:
    """The members these rows name (to look their names up)."""
    return {row["payload"]["membre"] for row in rows if isinstance(row["payload"].get("membre"), int)}


def told(rows: list[dict], noms: dict[int, str], across: bool = False) -> list[str]:
    """The lines of `rows` (`across`: of several aggregates, each line then names its own)."""
    lines: list[str] = []
    states: dict[str, object] = {}
    day = None
    for row in rows:
        when = datetime.fromisoformat(row["at"]).astimezone()
        if when.date() != day:
            day = when.date()
            lines.append(day.isoformat())
        after = _replayed(states, row)
        membre = row["payload"].get("membre")
        who = noms.get(membre, f"membre {membre}")
        words = WORDS.get(row["type"], lambda p, who, after: json.dumps(p, ensure_ascii=False))
        lines.append(
            f"{when:%H:%M:%S} {row['type']} {words(row['payload'], who, after)}"
            + (f"  [{row['aggregate']}]" if across else "")
        )
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
