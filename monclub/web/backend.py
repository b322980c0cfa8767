"""What the web program's handlers call, off the event loop: MonClub's client for the shards, a
pool of PostgreSQL connections for the reads (monclub.db.reads, the same functions as the CLI).

Both are synchronous and run in the worker threads of anyio: a Client is not thread-safe, so
each call takes an idle one (or makes one) and gives it back; a connection is checked before it
is handed out, so a restarted PostgreSQL costs no failed request once it is back.
"""

import threading
from collections.abc import Callable
from typing import Any

import anyio.to_thread
import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from monclub.client import Client
from monclub.config import Config
from monclub.db import DEAD_SERVER, TCP_USER_TIMEOUT_MS
from monclub.db.secrets import redact
from monclub.errors import InvalidRequest, Unavailable

POOL_MAX = 8
POOL_WAIT = 2.0


class Commands:
    """MonClub's client, one per worker thread at a time."""

    def __init__(self, config: Config):
        self.config = config
        self.idle: list[Client] = []
        self.lock = threading.Lock()

    def _take(self) -> Client:
        with self.lock:
            return self.idle.pop() if self.idle else Client(self.config)

    def _with_client(self, action: Callable[[Client], dict]) -> dict:
        client = self._take()
        try:
            return action(client)
        finally:
            with self.lock:
                self.idle.append(client)

    async def run(self, action: Callable[[Client], dict]) -> dict:
        return await anyio.to_thread.run_sync(self._with_client, action)

    def close(self) -> None:
        with self.lock:
            for client in self.idle:
                client.close()
            self.idle.clear()


class Database:
    """The reads (and the web program's own few writes) on pooled connections."""

    def __init__(self, config: Config):
        self.conninfo = config.conninfo()
        options = {"autocommit": True, "connect_timeout": 5, **DEAD_SERVER, "tcp_user_timeout": TCP_USER_TIMEOUT_MS}
        self.pool = ConnectionPool(
            self.conninfo,
            min_size=1,
            max_size=POOL_MAX,
            kwargs=options,
            open=False,
            check=ConnectionPool.check_connection,
            timeout=POOL_WAIT,
            name="web",
        )

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
