"""Reads of the archive (`history`, migration 023): an aggregate's or a member's history page by page,
every row of an aggregate for its replay, the stored states replay is compared with, and the
export's stream.

Every read adds the outbox's tail beyond the archive's position, in the same statement (one
snapshot of the database: the position and the rows it covers are read together, and retention
never prunes beyond it), so that an event committed a moment ago is in its history already.

A `snapshot` row carries the seq of the last event it includes: it sorts after that event. A page's
cursor is therefore the pair (seq, snapshot or not), sent as one integer, `2 * seq + snapshot`.
"""

import json
from collections.abc import Iterator

import psycopg
from psycopg.rows import dict_row

FIELDS = "seq, type, aggregate, at, payload, branch, partition, epoch, node, request_id"
_REPLAYED = "seq, type, aggregate, at, payload::text"
_TAIL = "FROM events WHERE seq > (SELECT seq FROM history_position)"
_ROWS = f"""
SELECT {{columns}} FROM (SELECT {FIELDS}, type = 'snapshot' AS snapshot FROM history WHERE {{archived}}
UNION ALL
SELECT {FIELDS}, false {_TAIL} AND {{tail}}) AS h"""
_AGGREGATE = "aggregate = %(aggregate)s"
_MEMBRE = "{membres} @> ARRAY[%(membre)s::bigint]"
_AFTER = " AND seq >= %(seq)s AND (seq, type = 'snapshot') > (%(seq)s, %(snapshot)s)"
_BEFORE = " AND seq <= %(seq)s AND (seq, type = 'snapshot') < (%(seq)s, %(snapshot)s)"
_AGGREGATES = "(aggregate LIKE 'seance/%%' OR aggregate LIKE 'livre/%%')"


def cursor(row: dict) -> int:
    """The position of a row, as a page's `suivant` gives it."""
    return 2 * row["seq"] + int(row["type"] == "snapshot")


def _rows(where: str, tail: str, columns: str = "*") -> str:
    return _ROWS.format(archived=where, tail=tail, columns=columns)


def page(
    conn: psycopg.Connection, aggregate: str | None, membre: int | None, apres: int | None, limite: int | None
) -> list[dict]:
    """The rows of one aggregate's history (or those naming `membre`, across aggregates), in order,
    after the cursor `apres` (None: from the first), at most `limite` (None: all)."""
    seq, snapshot = divmod(apres, 2) if apres is not None else (-1, 1)
    return _read(conn, aggregate, membre, _AFTER, " ORDER BY seq, snapshot", seq, snapshot, limite)


def latest(
    conn: psycopg.Connection, aggregate: str | None, membre: int | None, avant: int | None, limite: int | None
) -> list[dict]:
    """The last `limite` rows (None: all) before the cursor `avant` (None: the last row), in order:
    a page's rows read from its newest end, as the web's timeline shows the latest first."""
    seq, snapshot = divmod(avant, 2) if avant is not None else (2**62, 1)
    rows = _read(conn, aggregate, membre, _BEFORE, " ORDER BY seq DESC, snapshot DESC", seq, snapshot, limite)
    return rows[::-1]


def _read(conn, aggregate, membre, bound: str, order: str, seq: int, snapshot: int, limite: int | None) -> list[dict]:
    """The rows within `bound` of the cursor (seq, snapshot), in `order`, at most `limite`."""
    if aggregate is not None:
        query = _rows(_AGGREGATE + bound, _AGGREGATE + bound)
    else:
        archived, tail = (_MEMBRE.format(membres=membres) for membres in ("membres", "monclub_membres(type, payload)"))
        query = _rows(archived + bound, tail + bound)
    params = {"aggregate": aggregate, "membre": membre, "seq": seq, "snapshot": bool(snapshot), "limite": limite}
    rows = conn.cursor(row_factory=dict_row).execute(query + order + " LIMIT %(limite)s", params)
    return [_public(row) for row in rows.fetchall()]


def _public(row: dict) -> dict:
    """A row as the op, the CLI's --json and the export give it: `at` in ISO 8601."""
    row.pop("snapshot", None)
    return {**row, "at": row["at"].isoformat()}


def replayed_rows(conn: psycopg.Connection, aggregate: str | None = None) -> Iterator[dict]:
    """Every row of one aggregate (or of every séance and copy, aggregate by aggregate), in the
    order replay reads them, streamed from a server-side cursor (in the caller's transaction): the
    fields replay reads, the payload as text decoded here (psycopg's jsonb loader took two thirds
    of a 10,000-event read: 90 ms against 36 ms, benchmarks/history.py)."""
    where = _AGGREGATE if aggregate is not None else _AGGREGATES
    query = _rows(where, where, _REPLAYED) + ' ORDER BY aggregate COLLATE "C", seq, snapshot'
    with conn.cursor(name="monclub_replay") as rows:
        rows.itersize = 2000
        for seq, kind, whose, at, payload in rows.execute(query, {"aggregate": aggregate}):
            yield {"seq": seq, "type": kind, "aggregate": whose, "at": at, "payload": json.loads(payload)}


def stored_states(conn: psycopg.Connection) -> Iterator[tuple[str, dict]]:
    """(aggregate, its stored state as a snapshot's payload) of every séance and copy, in the
    order of `replayed_rows` (in the caller's transaction)."""
    with conn.cursor(name="monclub_states") as rows:
        rows.itersize = 2000
        yield from rows.execute('SELECT aggregate, payload FROM aggregate_states ORDER BY aggregate COLLATE "C"')


def exported(conn: psycopg.Connection, seq: int | None, at: str | None) -> Iterator[str]:
    """The events from `seq` on, or committed at or after `at` (an ISO 8601 time), in seq order, the
    snapshots left out, each one line of JSON with the archive's fields: a server-side cursor, so
    that memory stays flat however many there are, and the lines made by PostgreSQL (row_to_json),
    which the export only writes out: decoding each row to write it again as JSON took two thirds
    of its time (benchmarks/history.py)."""
    where = "type <> 'snapshot' AND seq >= %(seq)s AND at >= %(at)s::timestamptz"
    events = f"SELECT {FIELDS} FROM history WHERE {where} UNION ALL SELECT {FIELDS} {_TAIL} AND {where}"
    query = f"SELECT row_to_json(e)::text FROM ({events}) AS e ORDER BY seq"
    with conn.transaction(), conn.cursor(name="monclub_export") as rows:
        rows.itersize = 5000
        for (line,) in rows.execute(query, {"seq": seq or 0, "at": at or "-infinity"}):
            yield line


def noms(conn: psycopg.Connection, membres: list[int]) -> dict[int, str]:
    """The names of these members, by id (a history tells who, not which number)."""
    return dict(conn.execute("SELECT id, nom FROM membres WHERE id = ANY(%s)", (membres,)).fetchall())
