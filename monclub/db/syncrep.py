"""A COMMIT that returned, but that the synchronous standby may never have got.

Why: with synchronous replication (docs/database.md) a COMMIT returns once a standby has its WAL,
except when the backend's wait for the standby is cancelled (a query cancel, a statement timeout):
PostgreSQL then ends the wait with a WARNING ("canceling wait for synchronous replication … the
transaction has already committed locally, but might not have been replicated to the standby")
and reports the COMMIT as done. A failover right after would lose what MonClub acknowledged. When
the backend is terminated instead (pg_terminate_backend, a fast shutdown, the postmaster's death),
the same WARNING comes and the connection ends: a lost session, an unknown outcome already.

So every MonClub session records the warnings its server sends (`watch`, from monclub.db.connect),
and a writer commits inside `confirmed`: a WARNING there makes the outcome unknown (NotReplicated,
an OperationalError: monclub.db.SESSION_LOST), resolved by request id as a lost connection is. The
text may be translated (lc_messages), so any WARNING during a write counts: MonClub's writes cause
none otherwise, and a false alarm costs one look-up.

Resolving reads a stored reply, which after a cancelled wait is on the primary but maybe not on
the standby. `durable_rows` reads it in a transaction that also locks the outbox's sequence row
FOR KEY SHARE (a WAL record: a transaction id alone writes none, and its COMMIT would not wait)
with synchronous_commit on whatever the session's default, so that its COMMIT waits for the
standby, whose confirmation covers every earlier commit of that server: a reply read there is
replicated once that COMMIT returns without a warning.
"""

import contextlib
import weakref
from collections.abc import Iterator

import psycopg
from psycopg.abc import Params, QueryNoTemplate

# A lock on the one row every writer of the outbox updates: FOR KEY SHARE conflicts with none of
# their updates, and the application's role may take it (it may update the row).
BARRIER = "SELECT set_config('synchronous_commit', 'on', true), seq FROM outbox_sequence FOR KEY SHARE"

_heard: "weakref.WeakKeyDictionary[psycopg.Connection, list[str]]" = weakref.WeakKeyDictionary()


class NotReplicated(psycopg.OperationalError):
    """The server warned during the COMMIT: it committed locally, the standby may not have it."""


def watch(conn: psycopg.Connection) -> None:
    """Record the warnings the server sends `conn` from now on (for `confirmed`)."""
    heard: list[str] = []
    _heard[conn] = heard
    conn.add_notice_handler(lambda diagnostic: _hear(heard, diagnostic))


def _hear(heard: list[str], diagnostic: psycopg.errors.Diagnostic) -> None:
    if diagnostic.severity_nonlocalized == "WARNING":
        heard.append(diagnostic.message_primary or "a warning")


@contextlib.contextmanager
def confirmed(conn: psycopg.Connection) -> Iterator[None]:
    """The commits made inside, on `conn`: NotReplicated if the server warned meanwhile."""
    heard = _heard.get(conn)
    if heard is None:
        raise RuntimeError("a session opened without monclub.db.connect: its warnings go unheard")
    heard.clear()
    yield
    if heard:
        warnings = "; ".join(heard)
        heard.clear()
        raise NotReplicated(f"the commit's outcome is unknown (the server warned: {warnings})")


def durable_rows(conn: psycopg.Connection, query: QueryNoTemplate, params: Params | None = None) -> list[tuple]:
    """The rows of `query`, read in a transaction whose COMMIT waits for the synchronous standby:
    every row it returns was committed before, so the standby has it too."""
    with confirmed(conn), conn.transaction():
        conn.execute(BARRIER)
        return conn.execute(query, params).fetchall()
