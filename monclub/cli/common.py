"""What every command shares: one-line errors with exit codes, --json, the configuration."""

import functools
import json
import sys
from typing import NoReturn

import click
import psycopg

from monclub import config as configuration
from monclub.club.texts import refusal_message
from monclub.db import connect, read_only
from monclub.errors import ConfigError, MonclubError


def fail(message: str, code: int, as_json: bool = False, error_code: str | None = None) -> NoReturn:
    if as_json:
        click.echo(json.dumps({"ok": False, "error": {"code": error_code, "message": message}}))
    else:
        prefix = f"{error_code}: " if error_code else ""
        click.echo(f"error: {prefix}{message}", err=True)
    sys.exit(code)


def handled(command):
    """Turn MonClub's errors into one line and an exit code, never a traceback; a field that breaks
    its rule (checked before anything is sent) is named first: `error: invalid_request: places: …`."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        as_json = kwargs.get("as_json", False)
        try:
            return command(*args, **kwargs)
        except MonclubError as error:
            fail(refusal_message(error), 1, as_json, error.code)
        except ConfigError as error:
            fail(str(error), 2, as_json, "config")
        except (psycopg.IntegrityError, psycopg.DataError) as error:
            fail(f"refused by the database: {str(error).strip().splitlines()[0]}", 1, as_json, "invalid_request")
        except psycopg.OperationalError as error:
            detail = str(error).strip().splitlines()[0]
            fail(f"database unreachable ({detail}); is MonClub running? try: monclub start", 1, as_json, "unavailable")

    return wrapper


def json_option(command):
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")(command)


def emit(as_json: bool, data, text: str) -> None:
    click.echo(json.dumps(data, ensure_ascii=False) if as_json else text)


def read_session(conninfo: str) -> psycopg.Connection:
    """A session of the CLI's reads and listings: every transaction read-only, as the web program's
    (monclub.web.backend). The club's data is written through the accueil and the shards, never
    from here; a write on this session fails (ReadOnlySqlTransaction)."""
    conn = connect(conninfo, autocommit=True)
    try:
        read_only(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def on_database(function, *args):
    """`function(conn, *args)` on a read-only session of its own (`read_session`): a read of
    `monclub.db.reads`, a listing."""
    with read_session(load_config().conninfo()) as conn:
        return function(conn, *args)


def on_writer(function, *args):
    """`function(conn, *args)` on a session that may write: for running the tree (`node join`),
    never for the club's data."""
    with connect(load_config().conninfo(), autocommit=True) as conn:
        return function(conn, *args)


def load_config() -> configuration.Config:
    try:
        return configuration.load()
    except ConfigError as error:
        fail(str(error), 2, error_code="config")
