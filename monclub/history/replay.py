"""An aggregate's state rebuilt from its archived rows through its pure core: each event folded by
the core's `appliquer`, from the latest `snapshot` row on (a snapshot holds the whole state as the
stored rows had it, so that months dropped by `[history] keep`, and the events pruned before the
archive existed, are not needed).

Only séances and copies have a state to replay; a member's history is the events that name them.
"""

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from datetime import datetime, tzinfo
from types import ModuleType
from typing import get_args

import psycopg

from monclub.db import history
from monclub.db.outbox import event_type
from monclub.errors import InvalidField, MonclubError
from monclub.prets import pret
from monclub.reunions import seance

FLOAT_TOLERANCE = 1e-5  # stored times are microseconds; an event's are Python floats


@dataclass(frozen=True)
class Kind:
    """One kind of aggregate: its pure core, its events by outbox type, its state from a snapshot's
    payload, and the refusal of an id it does not know."""

    name: str
    core: ModuleType
    from_snapshot: Callable[[dict], object]
    unknown: str

    @property
    def events(self) -> dict[str, tuple[type, tuple[str, ...]]]:
        """Each outbox type's event class and the names of its fields."""
        return _events_of(self.core)


@functools.cache
def _events_of(core: ModuleType) -> dict[str, tuple[type, tuple[str, ...]]]:
    """Made once per core: `dataclasses.fields` on every row was half of a replay's time."""
    return {event_type(cls): (cls, tuple(f.name for f in fields(cls))) for cls in get_args(core.Event)}


def _seance(payload: dict) -> seance.Seance:
    return seance.seance(
        payload["seance"],
        payload["titre"],
        payload["places"],
        payload["attente_max"],
        payload["tarif"],
        tuple(payload["inscrits"]),
        tuple(payload["attente"]),
        payload["annulee"],
        payload["quand"],
    )


def _livre(payload: dict) -> pret.Livre:
    keys = ("livre", "titre", "emprunteur", "echeance", "prolonge", "retard_signale", "relances", "prochaine")
    return pret.Livre(*(payload[key] for key in keys))


KINDS = {
    "seance": Kind("seance", seance, _seance, "seance_inconnue"),
    "livre": Kind("livre", pret, _livre, "livre_inconnu"),
}


def kind_of(aggregate: str) -> Kind | None:
    """The kind of `seance/polar` or `livre/dune`; None for an aggregate without a state to replay."""
    return KINDS.get(aggregate.partition("/")[0])


def event_of(kind: Kind, row: dict):
    """The core's event of an archived row (its payload's extra facts, titre and tarif, left out; a
    field added to an event since, such as `seance_creee`'s `quand`, takes its default when an older
    event lacks it)."""
    cls, names = kind.events[row["type"]]
    payload = row["payload"]
    return cls(**{name: _tuple(payload[name]) for name in names if name in payload})


def _tuple(value):
    return tuple(value) if isinstance(value, list) else value


def replay(kind: Kind, rows: Iterable[dict]):
    """The state the rows leave (None before the aggregate exists); TypeError if they do not fold."""
    state = None
    for row in rows:
        if row["type"] == "snapshot":
            state = kind.from_snapshot(row["payload"])
        else:
            state = kind.core.appliquer(state, event_of(kind, row))
    return state


def state_at(kind: Kind, aggregate: str, rows: list[dict], when: datetime) -> dict:
    """The state the aggregate had at `when`: its rows up to the first event committed after it
    (an aggregate's events are committed one command after another, so their times only grow)."""
    before = []
    for row in rows:
        if row["type"] != "snapshot" and row["at"] > when:
            break
        before.append(row)
    if rows and rows[0]["type"] == "snapshot" and when < rows[0]["at"]:
        raise InvalidField("at", f"the history of {aggregate} before {rows[0]['at'].isoformat()} was dropped")
    if not before:
        raise MonclubError(f"{aggregate} did not exist yet at {when.isoformat()}", kind.unknown)
    return kind.core.etat(replay(kind, before))


def moment(name: str, value: str, zone: tzinfo | None = None) -> datetime:
    """An ISO 8601 time (`2026-11-24T18:00`, `2026-11-24 18:00:00+01:00`); without an offset, in
    `zone` (the club's; None: the machine's), as the CLI reads a séance's date."""
    try:
        typed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidField(
            name, "must be an ISO 8601 time, e.g. 2026-11-24T18:00 or 2026-11-24T18:00:00+01:00"
        ) from None
    if typed.tzinfo is not None or zone is None:
        return typed.astimezone()
    return typed.replace(tzinfo=zone)


def state_then(conn: psycopg.Connection, aggregate: str, when: datetime) -> dict:
    """The `etat` a séance or copy had at `when`, replayed from its archived rows."""
    kind = kind_of(aggregate)
    if kind is None:
        raise InvalidField("at", "only a séance or a copy has a state to replay")
    with conn.transaction():
        rows = list(history.replayed_rows(conn, aggregate))
    return state_at(kind, aggregate, rows, when)


def differences(stored: dict, replayed: dict) -> list[str]:
    """The fields of two `etat`s that differ, as `field: stored != replayed`."""
    return [
        f"{key}: {stored.get(key)!r} != {replayed.get(key)!r}"
        for key in sorted(set(stored) | set(replayed))
        if not _same(stored.get(key), replayed.get(key))
    ]


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= FLOAT_TOLERANCE
    return a == b
