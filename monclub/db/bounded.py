"""Sessions whose server must answer in time.

A frozen server (its processes stopped, its host's kernel running) is noticed by neither libpq's
keepalives nor its tcp_user_timeout: the kernel acknowledges what is sent and answers the probes,
and a session waits for its answer until the server is thawed, holding up whatever waits on that
session (a shard's partitions) while another server may be primary already. So no round trip of
a MonClub session waits more than `answer_timeout` for the server's answer: the session is then
lost (an OperationalError, so SESSION_LOST) and opened again on whichever server is primary; what
it was committing is an unknown outcome, resolved by its request id.

One silent session says the server is silent, and so does one whose connection timed out (the
keepalives or tcp_user_timeout, when the host is cut off): every other session of the process
opened on that server before fails at its next round trip at once, instead of each waiting its
own timeout in turn (a shard uses its partitions' sessions one after the other). A connection the
server closed or reset is not silence: the server's host answered. It was killed, and the other
sessions learn it at once on their own, or only that backend was ended (pg_terminate_backend),
and the others are fine."""

import select
import time

import psycopg
from psycopg.pq import TransactionStatus

from monclub.db import hosts

ANSWER_TIMEOUT = 10.0  # s; MonClub's queries take milliseconds. A migration waits unbounded (None).
_silent_since: dict[tuple[str, int], float] = {}  # server -> when a session of this process found it silent or lost


class Silent(psycopg.OperationalError):
    """The server did not answer in time, or another session found it so (already marked)."""


class Connection(psycopg.Connection):
    """A MonClub session: each round trip bounded by `answer_timeout`, unless its caller bounds it
    itself (the relay's wait for a notification)."""

    answer_timeout: float | None = ANSWER_TIMEOUT
    opened: float | None = None

    def wait(self, gen, interval: float = 0.1, timeout: float | None = None):
        try:
            answering(self)
        except psycopg.OperationalError:
            gen.close()
            raise
        try:
            return super().wait(gen, interval, self.answer_timeout if timeout is None else timeout)
        except psycopg.errors._WaitTimeout:  # psycopg's own timeout of a wait (an OperationalError)
            if timeout is None:
                _mark(self)
            raise
        except psycopg.OperationalError as error:
            lost(self, error)
            raise

    def __exit__(self, exc_type, exc_val, exc_tb) -> None:
        """Closed on the way out even when the commit fails (psycopg closes only after a commit
        that returned): a session refused as silent is not left open."""
        try:
            super().__exit__(exc_type, exc_val, exc_tb)
        finally:
            self.close()

    # A session with no transaction open has nothing to commit or roll back, and psycopg sends
    # nothing then; but `wait` would still refuse a session whose server another session found
    # silent, and leaving `with connect(...)` after reads in autocommit raised.
    def commit(self) -> None:
        if not self._idle():
            super().commit()

    def rollback(self) -> None:
        if not self._idle():
            super().rollback()

    def _idle(self) -> bool:
        return self.pgconn.transaction_status == TransactionStatus.IDLE and self._pipeline is None


def opened(conn: Connection, answer_timeout: float | None) -> Connection:
    conn.answer_timeout = answer_timeout
    conn.opened = time.monotonic()
    return conn


def _mark(conn: psycopg.Connection) -> None:
    """`conn`'s server found silent now: the process's older sessions on it fail at once, and new
    sessions try it last (monclub.db.hosts)."""
    host, port = _server(conn)
    _silent_since[(host, port)] = time.monotonic()
    hosts.silent((host, str(port)))


def _server(conn: psycopg.Connection) -> tuple[str, int]:
    return conn.info.host, conn.info.port


# libpq's words for a connection its server closed or reset (it answered: not silent)
ANSWERED = ("server closed the connection unexpectedly", "Connection reset by peer", "Broken pipe")


def lost(conn: psycopg.Connection, error: psycopg.OperationalError) -> None:
    """Mark `conn`'s server silent when `error` is its connection lost without an answer: no
    SQLSTATE (not the server's own word, such as a shutdown's 57P01), not closed or reset by the
    server, and not a pipeline's later statements refused after an error the server sent (psycopg's
    PipelineAborted). Under a locale that translates libpq's words, a closed connection marks the
    server too: its other sessions are then opened again, never kept waiting."""
    text = str(error)
    answered = isinstance(error, Silent | psycopg.errors.PipelineAborted) or any(word in text for word in ANSWERED)
    if error.sqlstate is None and not answered:
        _mark(conn)


def answering(conn: psycopg.Connection) -> None:
    """OperationalError at once when another session of this process found `conn`'s server
    silent since `conn` was opened (a session not opened by monclub.db.connect is never)."""
    if not _silent_since:  # every round trip asks; reading the server's address costs libpq calls
        return
    since = getattr(conn, "opened", None)
    if since is not None and _silent_since.get(_server(conn), -1.0) > since:
        host, port = _server(conn)
        raise Silent(f"server {host}:{port} stopped answering another session")


def deadline(conn: psycopg.Connection) -> float | None:
    """When a round trip of `conn` starting now must have its answer (None: unbounded), for a
    caller that waits on the socket itself (monclub.db.pipeline); `answering` checked first."""
    answering(conn)
    timeout = getattr(conn, "answer_timeout", None)
    return None if timeout is None else time.monotonic() + timeout


def ready(conn: psycopg.Connection, until: float | None, write: bool = False) -> None:
    """Wait until `conn`'s socket is readable (or writable, when `write`), until `until`; past it,
    the server is silent (marked so for the process's other sessions): OperationalError."""
    sock = conn.pgconn.socket
    left = None if until is None else max(0.0, until - time.monotonic())
    readable, writable, _ = select.select([sock], [sock] if write else [], [], left)
    if not readable and not writable:
        _mark(conn)
        raise Silent(f"no answer from the server within {getattr(conn, 'answer_timeout', None)}s")
