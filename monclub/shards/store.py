"""What a shard's persistence must do (`Store`), and what every PostgreSQL store shares
(`PostgresStore`): ownership, the request replies, and one transaction per batch of commands
holding their state changes, outbox events and replies.

Every write is fenced by the epoch of the partition it writes for (monclub.cluster.ownership), on
that partition's own session or, for a batch over several partitions of one process, on one of
their sessions, each part fenced by its own epoch. A subclass says how to load aggregates and how
each event changes their rows.

The failures are psycopg's own exceptions, so that the owner tells them apart as it would on any
connection: after a failure, `usable` says whether the connection survived (the transaction was
rolled back) or was lost (the outcome of a COMMIT in flight is unknown).
"""

import json
import socket
from typing import Any, ClassVar, NamedTuple, Protocol

import psycopg
from mypy_extensions import mypyc_attr
from psycopg import errors

from monclub.cluster import ownership
from monclub.db import connect, ended, syncrep
from monclub.db.outbox import append_parts
from monclub.db.pipeline import Pipelined, Statement
from monclub.errors import Unavailable
from monclub.shards.batch import Write

# Rows travel as one JSON text parameter (bytes in hex), not as arrays: json.dumps builds it in
# C, while array parameters cost more client CPU than the rest of the write.
_INSERT_REPLIES = """
INSERT INTO requests (id, shard, epoch, reply, empreinte)
SELECT r ->> 0, %s, (r ->> 3)::bigint, decode(r ->> 1, 'hex'), decode(r ->> 2, 'hex')
FROM jsonb_array_elements(%s::text::jsonb) AS r
"""


class Stored(NamedTuple):
    """A reply stored under a request id, with the fingerprint of the request it answered (None
    for a reply stored before fingerprints were kept)."""

    reply: bytes
    empreinte: bytes | None


def _bytes(value) -> bytes | None:
    return None if value is None else bytes(value)


class NotCommitted(Exception):
    """The session had ended before the batch was sent: nothing of it was committed (its requests
    get `unavailable`, not silence)."""


class AlreadyApplied(Exception):
    """A request id of the batch is already recorded: its stored reply is the answer."""


class Store(Protocol):
    """A shard's session with the source of truth (PostgreSQL, or the tests' in-memory double),
    owning its partition at `epoch`."""

    epoch: int

    @property
    def usable(self) -> bool:
        """False once the session is lost: the owner then forgets its memory and opens another."""

    def close(self) -> None: ...

    def load_all(self, aggregate_ids: list[str]) -> dict:
        """The existing ones of these aggregates, loaded, by id."""

    def membre_exists(self, membre: int) -> bool: ...

    def stored_replies(self, request_ids: list[str]) -> dict[str, Stored]:
        """The stored replies of those of these requests that were applied."""

    def write(self, writes: list[Write]) -> None:
        """Write a batch in one transaction; AlreadyApplied if a request id is already recorded."""

    def write_shared(self, parts: list[tuple[Any, list[Write]]]) -> None:
        """Write the batches of several partitions (each with its owner's store of the same kind,
        this one among them) in one transaction on this session, each fenced by its own epoch:
        all committed, or none. FencedOut, AlreadyApplied or a refused write leave this session
        usable when it has several parts: the transaction was rolled back, and each owner may
        write its part again on its own."""

    def due(self, now: float) -> list[str]:
        """Ids of this shard's aggregates with a timer due at `now`."""

    def renew(self) -> None:
        """Extend the lease on the partition; FencedOut (and no longer usable) once another
        owner has taken it."""

    def release(self) -> None:
        """Give the partition up (its lease cleared, so that the next owner takes it at once),
        then close."""


# Each branch's store subclasses it, compiled or not (monclub/compiled.py: mypyc forbids that by default).
@mypyc_attr(allow_interpreted_subclasses=True)
class PostgresStore:
    branch: ClassVar[str] = ""

    def __init__(
        self, conn: psycopg.Connection, shard: str, index: int, epoch: int, fence: bool = True, node: str | None = None
    ):
        self.conn = conn
        self.node = node
        self.shard = shard
        self.index = index
        self.epoch = epoch
        self.fence = fence
        self.pipelined = Pipelined(conn)

    @classmethod
    def open(
        cls,
        conninfo: str,
        shard: str,
        index: int,
        fence: bool = True,
        node: str | None = None,
        endpoint: str | None = None,
    ) -> "PostgresStore":
        """Connect and take ownership of partition `index` for the shard process `shard` (the
        partition's lock, then a new epoch), or raise Unavailable. The lease decides, not the lock:
        a session that still holds the lock while the lease it wrote has run out (a frozen node's:
        its kernel still answers keepalives) or while its process is known dead is ended. `fence` False is the
        deliberately broken build of the drills (MONCLUB_FAULT=no_fence): its writes skip the
        epoch check. `node`: this node's name in the cluster (`[cluster] node`), the host name by
        default; `endpoint`: where the shard listens, for the directory."""
        try:
            conn = connect(conninfo, autocommit=True)
        except psycopg.OperationalError as error:
            raise Unavailable(f"database unreachable: {str(error).strip().splitlines()[0]}") from None
        try:
            locked = ownership.lock(conn, cls.branch, index)
            node = node or socket.gethostname()
            with syncrep.confirmed(conn):
                epoch = ownership.take(conn, cls.branch, index, shard, node, endpoint, locked)
            if not locked:
                ownership.end_lock_holder(conn, cls.branch, index)
        except ownership.Held as held:
            conn.close()
            raise Unavailable(f"waiting for partition {index} ({held}); retry shortly") from None
        except psycopg.Error as error:
            conn.close()
            raise Unavailable(f"database not ready: {str(error).strip().splitlines()[0]}") from None
        return cls(conn, shard, index, epoch, fence, node)

    @classmethod
    def warm(cls, conn: psycopg.Connection) -> None:
        """Read, finding nothing, the tables a take and a first load read: a session opened ahead
        (monclub.db.open_ahead) then has them in its backend's caches, which a new backend fills
        on first use, on a restarted shard's way to its first reply."""
        ownership.warm(conn)
        cls(conn, "", -1, 0).load_all([])

    def renew(self) -> None:
        """Extend this session's lease on its partition; FencedOut if another owner took it."""
        try:
            with syncrep.confirmed(self.conn):  # a lease the standby may lack is no lease after a failover
                ownership.renew(self.conn, self.branch, self.index, self.epoch)
        except (ownership.FencedOut, syncrep.NotReplicated):
            self.conn.close()
            raise

    def release(self) -> None:
        try:
            ownership.release(self.conn, self.branch, self.index, self.epoch)
        finally:
            self.conn.close()

    @property
    def usable(self) -> bool:
        return not self.conn.closed and not self.conn.broken

    def close(self) -> None:
        self.conn.close()

    def load_all(self, aggregate_ids: list[str]) -> dict:
        """The existing ones of these aggregates, loaded, by id."""
        raise NotImplementedError

    def statements(self, events: list) -> list[tuple[str, tuple]]:
        """The statements that write a batch's events, in order."""
        raise NotImplementedError

    def due(self, now: float) -> list[str]:
        return []

    def membre_exists(self, membre: int) -> bool:
        return self.conn.execute("SELECT 1 FROM membres WHERE id = %s", (membre,)).fetchone() is not None

    def stored_replies(self, request_ids: list[str]) -> dict[str, Stored]:
        """The stored replies of those of these requests that were applied (and replicated: a
        commit whose wait for the standby was cancelled may be here alone, monclub.db.syncrep)."""
        rows = syncrep.durable_rows(
            self.conn, "SELECT id, reply, empreinte FROM requests WHERE id = ANY(%s)", (request_ids,)
        )
        return {request_id: Stored(bytes(reply), _bytes(empreinte)) for request_id, reply, empreinte in rows}

    def write(self, writes: list[Write]) -> None:
        """Write the state changes, the outbox events and the replies of a batch in one
        transaction and one round trip: on this autocommit connection, PostgreSQL runs all the
        statements of a pipeline up to its Sync as one implicit transaction, committed at the Sync
        or rolled back whole at the first error (an explicit BEGIN and COMMIT would cost a round
        trip each). The outbox goes last, to hold its sequence lock the least time. Raises
        AlreadyApplied if a request id is already recorded.

        Only the server's refusal of a statement (an integrity or data error) leaves the session
        usable, its transaction rolled back. Any other failure (a broken socket, a pipeline left
        busy, a prepared statement the server lost) may have happened at or after the COMMIT: the
        session is closed, so that the owner resolves the outcome by request id instead of taking
        it for a refusal."""
        self.write_shared([(self, writes)])

    def write_shared(self, parts: list[tuple["PostgresStore", list[Write]]]) -> None:
        """Write several partitions' batches (each with the store that owns its partition, this
        one among them) in one transaction on this session, as `write` writes one: each
        part is fenced by its own partition's epoch, which its rows take; then the replies and the
        outbox events of all the parts, one statement each (each row with its part's epoch). A
        part fenced out fails the whole transaction with FencedOut; this session is closed only
        if it was its own part alone (the owners of the others write theirs again on their own)."""
        if ended(self.conn):  # a batch sent on it would fail without telling whether it was committed
            self.conn.close()
            raise NotCommitted("the database ended the session before this batch was sent")
        replies = [
            (store.epoch, [write for write in writes if write.request_id is not None]) for store, writes in parts
        ]
        records = [
            (write.records, store.writer, store.node, write.request_id) for store, writes in parts for write in writes
        ]
        statements = [statement for store, writes in parts for statement in store._changes(writes)]
        if any(rows for _, rows in replies):
            statements.append(replies_statement(self.shard, replies))
        if any(part[0] for part in records):
            statements.append(append_parts(records))
        try:
            with syncrep.confirmed(self.conn):
                self.pipelined.commit(statements)
        except errors.UniqueViolation as error:
            if error.diag.constraint_name != "requests_pkey":
                raise
            raise AlreadyApplied() from None
        except (psycopg.IntegrityError, psycopg.DataError):
            raise
        except psycopg.Error as error:
            if ownership.fenced(error):
                if len(parts) == 1:
                    self.conn.close()
                raise ownership.FencedOut(str(error).strip()) from None
            self.conn.close()
            raise

    @property
    def writer(self) -> tuple[str, int, int]:
        """Who writes: (branch, partition, epoch), as the fence checks it and the outbox keeps it."""
        return self.branch, self.index, self.epoch

    def _changes(self, writes: list[Write]) -> list[Statement]:
        """This partition's part of a transaction: its fence (the epoch its rows take) and its
        state changes. The replies and outbox events of all the parts follow, in one statement
        each."""
        fence: list[Statement] = [(ownership.FENCE, self.writer)] if self.fence else []
        return fence + self.statements([event for write in writes for event in write.events])


def replies_statement(shard: str, parts: list[tuple[int, list[Write]]]) -> tuple[str, tuple]:
    """The statement that stores these writes' replies with their requests' fingerprints, each
    under the epoch of its part (epoch, writes)."""
    rows = json.dumps([[w.request_id, _hex(w.reply), _hex(w.empreinte), epoch] for epoch, ws in parts for w in ws])
    return _INSERT_REPLIES, (shard, rows)


def _hex(value: bytes | None) -> str | None:
    return None if value is None else value.hex()
