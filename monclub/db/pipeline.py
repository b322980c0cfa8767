"""Statements run as one transaction in one round trip, on libpq's pipeline mode directly.

psycopg's pipeline sends each statement as it is queued (a flush and a poll each) and builds a
cursor per statement: for a shard's write of one command, that cost the client three times the
CPU it costs here. Here every statement of the transaction, and the Sync that ends it, leave in
one flush; each statement is prepared on the session once (the first pipeline that uses it also
carries its Parse); parameters travel in text form, typed by the server from the statement.

On an autocommit session, PostgreSQL runs a pipeline's statements up to its Sync as one implicit
transaction: committed at the Sync, or rolled back whole at the first error, after which it skips
the rest. That first error is raised as psycopg raises it (its class from the SQLSTATE, with its
`diag`); a connection lost on the way raises OperationalError, the outcome unknown, and so does a
server that does not answer in time (monclub.db.bounded: a frozen one's kernel still acknowledges).
"""

import functools
import re
from collections.abc import Mapping, Sequence

import psycopg
from psycopg import errors, pq

from monclub.db import bounded

Statement = tuple[str, Sequence | Mapping]  # as for psycopg: %s with a sequence, %(name)s with a mapping
_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%s")


class Pipelined:
    """A session's one-round-trip transactions, and the statements it has prepared (by text)."""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn
        self.prepared: dict[str, bytes] = {}
        self.named = 0

    def commit(self, statements: list[Statement]) -> None:
        """Run `statements` as one transaction, in one flush; raise its first error. Every
        parameter is put in text form before anything is sent."""
        calls = [(sql, *_numbered(sql, params)) for sql, params in statements]
        try:
            self._run(calls)
        except OSError as error:  # the socket itself failed: as lost as a broken connection
            lost = psycopg.OperationalError(f"pipeline socket failed: {error}")
            bounded.lost(self.conn, lost)
            raise lost from error
        except psycopg.OperationalError as error:
            bounded.lost(self.conn, error)
            raise

    def _run(self, calls: list[tuple[str, bytes, list[bytes | None]]]) -> None:
        conn = self.conn
        until = bounded.deadline(conn)
        pgconn = conn.pgconn
        pgconn.enter_pipeline_mode()
        sent: list[str | None] = []  # per command: the text it prepares, or None for an execution
        for sql, text, values in calls:
            if sql not in self.prepared:
                self.named += 1
                self.prepared[sql] = f"monclub_{self.named}".encode()
                pgconn.send_prepare(self.prepared[sql], text)
                sent.append(sql)
            pgconn.send_query_prepared(self.prepared[sql], values)
            sent.append(None)
        pgconn.pipeline_sync()
        _flush(conn, until)
        failure = None
        for prepares in sent:
            result = _command_result(conn, until)
            if prepares is not None and result.status != pq.ExecStatus.COMMAND_OK:
                del self.prepared[prepares]  # refused or skipped: the next pipeline carries it again
            if result.status == pq.ExecStatus.FATAL_ERROR and failure is None:
                failure = errors.error_from_result(result, encoding=self.conn.info.encoding)
        if _next_result(conn, until).status != pq.ExecStatus.PIPELINE_SYNC:
            raise psycopg.OperationalError("the pipeline's results ended without its Sync")
        pgconn.exit_pipeline_mode()
        if failure is not None:
            raise failure


def _command_result(conn: psycopg.Connection, until: float | None) -> pq.abc.PGresult:
    """The result of the next command sent (its last, when it has several), and the end of them."""
    result = _next_result(conn, until)
    while (more := _next_result(conn, until, end=True)) is not None:
        result = more
    return result


def _next_result(conn: psycopg.Connection, until: float | None, end: bool = False):
    """The next result, waiting on the socket for it until `until`; None only where a command's
    results end."""
    pgconn = conn.pgconn
    while pgconn.is_busy():
        bounded.ready(conn, until)
        pgconn.consume_input()
    result = pgconn.get_result()
    if result is None and not end:
        raise psycopg.OperationalError("a pipeline command ended without a result")
    return result


def _flush(conn: psycopg.Connection, until: float | None) -> None:
    pgconn = conn.pgconn
    while pgconn.flush():
        bounded.ready(conn, until, write=True)
        pgconn.consume_input()


def _numbered(sql: str, params: Sequence | Mapping) -> tuple[bytes, list[bytes | None]]:
    """The statement with $1, $2… for psycopg's placeholders, and its parameters in text form,
    in that order."""
    text, names = _shape(sql)
    values = [params[name] for name in names] if isinstance(params, Mapping) else list(params)
    if len(values) != len(names):
        raise TypeError(f"{len(names)} placeholders and {len(values)} parameters in {sql!r}")
    return text, [_text(value) for value in values]


@functools.lru_cache(maxsize=512)
def _shape(sql: str) -> tuple[bytes, tuple[str, ...]]:
    """The text with numbered placeholders, and the parameter each number takes (a %(name)s
    used twice is one parameter; a %s is the next of the sequence)."""
    names: list[str] = []

    def number(match: re.Match) -> str:
        name = match.group(1) or str(len(names))
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _PLACEHOLDER.sub(number, sql).encode(), tuple(names)


def _text(value) -> bytes | None:
    """A parameter in PostgreSQL's text form."""
    if value is None:
        return None
    if isinstance(value, bool):
        return b"t" if value else b"f"
    if isinstance(value, (str, int, float)):
        return str(value).encode()
    if isinstance(value, (list, tuple)) and all(type(item) is int for item in value):
        return ("{" + ",".join(map(str, value)) + "}").encode()  # an array of integers
    raise TypeError(f"no text form for a parameter of type {type(value).__name__}")
