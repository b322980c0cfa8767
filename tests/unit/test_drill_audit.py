"""The drill's auditor: acknowledged outcomes of one pair against that pair's recorded events."""

import time
from pathlib import Path

from monclub.config import Config
from monclub.drills import chaos, faults
from monclub.drills.chaos import postgres_kills
from monclub.drills.faults import Kill
from monclub.drills.load import Outcomes, consistent


def test_acknowledged_changes_must_be_the_next_events_in_order():
    ops = [("inscrire", "en_attente"), ("inscrire", "deja_inscrit"), ("desinscrire", "desinscrit")]
    assert consistent(ops, ["en_attente", "promu", "desinscrit"])
    assert not consistent(ops, ["en_attente"]), "an acknowledged desinscrit left no event"
    assert not consistent(ops[:1], ["en_attente", "desinscrit"]), "an event nobody acknowledged"


def test_refusals_must_agree_with_the_state_at_that_point():
    assert consistent([("inscrire", "seance_complete"), ("desinscrire", "non_inscrit")], [])
    assert not consistent([("inscrire", "deja_inscrit")], []), "told registered, never was"
    assert not consistent([("inscrire", "inscrit"), ("desinscrire", "non_inscrit")], ["inscrit"])


def test_nothing_committed_codes_change_nothing_and_timeouts_may_or_may_not_have_applied():
    assert consistent([("inscrire", "unavailable"), ("inscrire", "inscrit")], ["inscrit"])
    assert not consistent([("inscrire", "unavailable")], ["inscrit"])
    assert consistent([("inscrire", "timeout"), ("inscrire", "deja_inscrit")], ["inscrit"])
    assert consistent([("inscrire", "timeout"), ("inscrire", "inscrit")], ["inscrit"])
    assert not consistent([("inscrire", "timeout"), ("inscrire", "deja_inscrit")], [])


def test_a_promotion_needs_the_member_to_be_waiting():
    assert consistent([("inscrire", "en_attente")], ["en_attente", "promu"])
    assert not consistent([("desinscrire", "non_inscrit")], ["promu"])


def test_time_to_serve_again_after_each_postgres_kill():
    """From the kill to the first operation acknowledged once a new server answered; none when
    PostgreSQL was killed again first, or the load ended before anything was served."""
    outcomes = Outcomes(answered=[100.2, 101.5, 101.6, 110.3, 131.0])
    kills = [
        Kill("postgres", 1, at=100.0, back=1.2),  # served at 101.5
        Kill("postgres", 2, at=110.0, killed_again=True),  # down until the next kill
        Kill("postgres", 3, at=110.5, back=0.5),  # back at 111.0, nothing served before 120.0
        Kill("postgres", 4, at=120.0, back=0.9),  # served at 131.0
        Kill("postgres", 5, at=140.0, back=0.4),  # the load had ended
    ]
    report = postgres_kills(kills, outcomes, started=95.0)
    assert [row["serving_seconds"] for row in report["kills"]] == [1.5, None, None, 11.0, None]
    assert [row["not_serving"] for row in report["kills"]] == [
        None,
        "killed again (database not back)",
        "killed again (no operation served yet)",
        None,
        "no operation served before the load ended",
    ]
    assert report["kills"][0]["at"] == 5.0 and report["kills"][0]["database_seconds"] == 1.2
    assert report["serving_seconds"] == {"count": 2, "median": 6.25, "max": 11.0}
    assert postgres_kills([], outcomes, 95.0)["serving_seconds"] == {"count": 0, "median": None, "max": None}


def test_the_text_report_counts_a_run_of_kills_of_a_server_that_was_not_back_once():
    row = {"serving_seconds": None, "not_serving": "killed again (database not back)"}
    kills = [
        {"serving_seconds": 0.5, "not_serving": None},
        *[row] * 100,
        {"serving_seconds": 1.25, "not_serving": None},
    ]
    summary = {"count": 2, "median": 0.875, "max": 1.25}
    (line,) = chaos._postgres_lines({"kills": kills, "serving_seconds": summary})
    assert line == (
        "PostgreSQL kills, time to serve again (s): 0.50, killed again (database not back) ×100, 1.25;"
        " median 0.875 s, max 1.25 s"
    )


def test_a_kill_still_open_when_the_watches_stop_gets_a_last_look(monkeypatch):
    """A place killed at the end of the load may serve again only during quiescence, after its
    watch's last look: it is not reported as never served again (a CI run once did)."""
    monkeypatch.setattr(faults, "serving", lambda config, place, old: place == "prets")
    watched = faults.Faults(Config(home=Path("/nonexistent")), every=0.5, seed=1)
    watched.kills = [Kill("prets", 101, at=time.monotonic()), Kill("relay", 102, at=time.monotonic())]
    assert watched.stop_watching() == ["relay"]
    assert watched.kills[0].back is not None
