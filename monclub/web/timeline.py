"""The timeline of a séance, a copy or a membre on its page, and the state a séance or copy had at
a time. A timeline is the aggregate's history as `monclub history` reads it (the archive with the
outbox's tail in one statement, monclub.db.history: an event committed a moment ago is in it before
the relay archives it) and says it in the same words (monclub.history.text, the one renderer of a
history); the state at a time is the replay of `monclub history --at`.

A page shows the latest PAGE_MAX rows, in order, and links to the page before them by the position
of its first row (`?avant=P`, P a position as the API's `apres` and `suivant` give it).
"""

import psycopg

from monclub.accueil.ops import PAGE_MAX
from monclub.db import history
from monclub.errors import MonclubError
from monclub.history import text
from monclub.history.replay import kind_of, moment, replay, state_then


def timeline(conn: psycopg.Connection, aggregate: str | None, membre: int | None, avant: int | None, zone) -> dict:
    """The lines of the rows before position `avant` (None: the latest rows), `avant` itself, and
    `older`, the position of this page's first row when rows come before it (None otherwise)."""
    rows = history.latest(conn, aggregate, membre, avant, PAGE_MAX + 1)
    more = len(rows) > PAGE_MAX
    rows = rows[-PAGE_MAX:]
    older = history.cursor(rows[0]) if more else None
    before = _state_before(conn, aggregate, older) if aggregate is not None and older is not None else None
    noms = history.noms(conn, sorted(text.named(rows)))
    lines = text.told(rows, noms, zone, across=membre is not None, before=before)
    return {"lines": lines, "avant": avant, "older": older}


def _state_before(conn: psycopg.Connection, aggregate: str, position: int):
    """The aggregate's state before `position`, replayed, so that a page's ranks are those of
    `monclub history` (which reads every row); None when its rows do not replay."""
    kind = kind_of(aggregate)
    if kind is None:
        return None
    try:
        return replay(kind, history.latest(conn, aggregate, None, position, None))
    except (TypeError, KeyError):
        return None


def past(conn: psycopg.Connection, aggregate: str, at: str, zone) -> dict:
    """The state `aggregate` had at `at` (ISO 8601; without an offset in the club's zone, as
    `monclub history --at` reads it), its members by name; or the refusal, in the CLI's words."""
    try:
        when = moment("at", at, zone)
        etat = state_then(conn, aggregate, when)
    except MonclubError as error:
        return {"at": at, "error": error}
    ids = [*etat.get("inscrits", ()), *etat.get("attente", ()), *filter(None, [etat.get("emprunteur")])]
    noms = history.noms(conn, ids)

    def named(membre: int) -> dict:
        return {"id": membre, "nom": noms.get(membre, f"membre {membre}")}

    if "inscrits" in etat:
        etat = {**etat, **{key: [named(m) for m in etat[key]] for key in ("inscrits", "attente")}}
    elif etat["emprunteur"] is not None:
        etat = {**etat, "nom": named(etat["emprunteur"])["nom"]}
    return {"at": f"{when.astimezone(zone):%Y-%m-%d %H:%M:%S}", "etat": etat}
