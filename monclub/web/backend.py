"""The web program's PostgreSQL: a pool of read-only connections for the reads (monclub.db.reads,
the same functions as the CLI), used from anyio's worker threads (psycopg's sync API: the read
functions are shared with the CLI). Every session starts with default_transaction_read_only on:
the web program's commands go to the shards and the accueil, and a write from it would fail. A
connection is checked before it is handed out, so a restarted PostgreSQL costs no failed request
once it is back.
"""

from collections.abc import Callable
from functools import partial
from typing import Any

import anyio.to_thread
import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from monclub.config import Config
from monclub.db import hosts, landed, options, read_only
from monclub.db.secrets import redact
from monclub.errors import InvalidRequest, Unavailable

POOL_MAX = 8
POOL_WAIT = 2.0


class Database:
    """The reads, on pooled read-only connections."""

    def __init__(self, config: Config):
        self.conninfo = config.conninfo()
        self.pool = ConnectionPool(
            partial(hosts.ordered, self.conninfo),
            min_size=1,
            max_size=POOL_MAX,
            kwargs={"autocommit": True, **options(self.conninfo)},
            configure=self._configure,
            open=False,
            check=ConnectionPool.check_connection,
            timeout=POOL_WAIT,
            name="web",
        )

    def _configure(self, conn: psycopg.Connection) -> None:
        """A new pooled session: where it landed is the primary to try first; it never writes."""
        landed(self.conninfo, conn)
        read_only(conn)

    def open(self) -> None:
        self.pool.open(wait=False)

    def _with_connection(self, function: Callable[..., Any], args: tuple) -> Any:
        try:
            with self.pool.connection() as conn:
                return function(conn, *args)
        except (psycopg.IntegrityError, psycopg.DataError) as error:
            raise InvalidRequest(f"refused by the database: {_first_line(error)}") from None
        except (PoolTimeout, psycopg.OperationalError) as error:
            detail = redact(_first_line(error), self.conninfo)
            raise Unavailable(f"the database does not answer ({detail}); nothing was applied") from None

    async def run(self, function: Callable[..., Any], *args) -> Any:
        """`function(conn, *args)` on a pooled connection, in a worker thread."""
        return await anyio.to_thread.run_sync(self._with_connection, function, args)

    def close(self) -> None:
        self.pool.close()


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
