"""A session refused because another session of the process found its server silent
(monclub.db.bounded), on a real server: refused at its next round trip and at the commit of a
transaction it left open (never committed), closed either way; leaving `with connect(...)` with
no transaction open does not raise."""

import time

import psycopg
import pytest

from monclub.db import bounded, connect, hosts
from tests.fixtures.waiting import wait_for


@pytest.fixture
def silenced(monkeypatch):
    """Mark a server silent as a timed-out session would, in this test only."""
    monkeypatch.setattr(bounded, "_silent_since", {})
    monkeypatch.setattr(hosts, "_silent", None)

    def mark(conn: psycopg.Connection) -> None:
        # the mark must come after the session was opened, whatever the clock's resolution
        wait_for(lambda: time.monotonic() > conn.opened, 5, "the clock to pass the session's opening", 0)
        bounded._mark(conn)

    return mark


def test_a_session_opened_before_the_mark_is_refused_at_its_next_round_trip(database, silenced):
    with connect(database, autocommit=True) as conn:
        silenced(conn)
        with pytest.raises(bounded.Silent):
            conn.execute("SELECT 1")
    assert conn.closed


def test_leaving_a_session_with_no_transaction_open_closes_it_without_a_round_trip(database, silenced):
    with connect(database, autocommit=True) as reads:
        assert reads.execute("SELECT 1").fetchone() == (1,)
        silenced(reads)
    assert reads.closed
    with connect(database) as idle:  # a transaction never begun: nothing to commit
        silenced(idle)
    assert idle.closed


def test_a_transaction_left_open_on_a_silent_server_is_refused_never_committed_and_closed(database, silenced):
    with pytest.raises(bounded.Silent):
        with connect(database) as conn:
            conn.execute("INSERT INTO membres (nom) VALUES ('jamais')")
            silenced(conn)
    assert conn.closed
    with connect(database, autocommit=True) as other:  # opened after the mark: not refused
        assert other.execute("SELECT count(*) FROM membres WHERE nom = 'jamais'").fetchone() == (0,)
