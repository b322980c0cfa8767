"""Replay as an audit (`monclub verify`): every séance and copy rebuilt from its archived events
through its pure core, and compared with its stored rows. A row changed behind the shards' back, an
event lost or applied twice, shows as a difference naming the aggregate.

Both sides are read in one REPEATABLE READ transaction (one snapshot of the database: the stored
rows and the events that made them agree, whatever commits meanwhile), each from a server-side
cursor in the same order, and merged aggregate by aggregate: memory holds one aggregate's rows.
"""

from collections.abc import Iterator
from itertools import groupby
from operator import itemgetter

import psycopg

from monclub.db import history
from monclub.history.replay import differences, kind_of, replay

DIFFERS = "aggregate differs from its replayed history (aggregate, field: stored != replayed)"
UNSTORED = "aggregate in the history but not stored"
UNARCHIVED = "aggregate stored without a history"
BROKEN = "history does not replay (aggregate, error)"


def violations(conn: psycopg.Connection) -> list[str]:
    """One line per aggregate whose replay does not give its stored state."""
    found = []
    with conn.transaction():
        if conn.autocommit:  # else the caller's transaction is already open: its snapshot serves
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        for aggregate, rows, stored in _merged(history.replayed_rows(conn), history.stored_states(conn)):
            found += _compared(aggregate, rows, stored)
    return found


def _compared(aggregate: str, rows: list[dict] | None, stored: dict | None) -> list[str]:
    kind = kind_of(aggregate)
    if kind is None:
        return []
    if stored is None:
        return [f"{UNSTORED}: {aggregate}"]
    if rows is None:
        return [f"{UNARCHIVED}: {aggregate}"]
    try:
        replayed = kind.core.etat(replay(kind, rows))
    except (TypeError, KeyError) as error:
        return [f"{BROKEN}: {aggregate}, {error}"]
    return [
        f"{DIFFERS}: {aggregate}, {difference}"
        for difference in differences(kind.core.etat(kind.from_snapshot(stored)), replayed)
    ]


def _merged(rows: Iterator[dict], states: Iterator[tuple[str, dict]]) -> Iterator[tuple[str, list | None, dict | None]]:
    """(aggregate, its rows or None, its stored state or None) over the two streams, both in the
    order of `history.replayed_rows`."""
    groups = ((aggregate, list(group)) for aggregate, group in groupby(rows, key=itemgetter("aggregate")))
    group, state = next(groups, None), next(states, None)
    while group is not None or state is not None:
        if group is not None and (state is None or group[0] < state[0]):
            yield group[0], group[1], None
            group = next(groups, None)
        elif state is not None and (group is None or state[0] < group[0]):
            yield state[0], None, state[1]
            state = next(states, None)
        elif group is not None and state is not None:
            yield state[0], group[1], state[1]
            group, state = next(groups, None), next(states, None)
