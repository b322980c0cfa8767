"""Which lost connections mark their server silent (monclub.db.bounded.lost): silence only, never
a connection the server itself closed or reset."""

from types import SimpleNamespace

import psycopg
import pytest

from monclub.db import bounded, hosts


@pytest.fixture
def conn(monkeypatch):
    monkeypatch.setattr(bounded, "_silent_since", {})
    monkeypatch.setattr(hosts, "_silent", None)
    return SimpleNamespace(info=SimpleNamespace(host="10.0.0.7", port=5432))


@pytest.mark.parametrize(
    "text",
    [
        "consuming input failed: could not receive data from server: Connection timed out",
        "could not send data to server: No route to host",
    ],
)
def test_a_connection_lost_without_an_answer_marks_its_server(conn, text):
    bounded.lost(conn, psycopg.OperationalError(text))
    assert ("10.0.0.7", 5432) in bounded._silent_since
    assert hosts._silent == ("10.0.0.7", "5432")


@pytest.mark.parametrize(
    "text",
    [
        "consuming input failed: server closed the connection unexpectedly\n\tThis probably means the server "
        "terminated abnormally\n\tbefore or while processing the request.",
        "could not receive data from server: Connection reset by peer",
        "pipeline socket failed: [Errno 32] Broken pipe",
    ],
)
def test_a_connection_the_server_closed_or_reset_does_not(conn, text):
    bounded.lost(conn, psycopg.OperationalError(text))
    assert bounded._silent_since == {}
    assert hosts._silent is None


def test_an_error_the_server_sent_or_a_session_already_refused_does_not(conn):
    bounded.lost(conn, bounded.Silent("server 10.0.0.7:5432 stopped answering another session"))
    shutdown = psycopg.errors.AdminShutdown("terminating connection due to administrator command")
    assert shutdown.sqlstate == "57P01"
    bounded.lost(conn, shutdown)
    assert bounded._silent_since == {}


def test_a_pipelines_statements_refused_after_a_server_error_do_not(conn):
    bounded.lost(conn, psycopg.errors.PipelineAborted("pipeline aborted"))
    assert bounded._silent_since == {} and hosts._silent is None
