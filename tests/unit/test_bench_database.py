"""The pure parts of scripts/bench database's failover figures: the next committed registration
after a moment, which clients have moved on, and the summary per kind of kill."""

from benchmarks.database_failover import Calls, summary


def _row(kind: str, commit: float, primary: float, waited: int, longest: float) -> dict:
    return {
        "kind": kind,
        "commit_seconds": commit,
        "primary_seconds": primary,
        "synchronous_seconds": primary + 0.5,
        "waited": waited,
        "longest_wait_seconds": longest,
    }


def test_the_next_commit_is_the_first_registration_answered_after_the_moment_refusals_aside(monkeypatch):
    calls, now = Calls(), iter([1.0, 2.0, 3.0, 4.0])
    monkeypatch.setattr("benchmarks.database_failover.time.monotonic", lambda: next(now))
    calls.record(0.5, "a", 1, "inscrit")
    calls.record(1.5, "b", 2, "timeout")
    calls.record(1.6, "b", 3, "inscrit")
    calls.record(3.5, "a", 4, "inscrit")
    assert calls.committed_after(1.5) == 3.0 and calls.committed_after(5.0) is None
    assert calls.sent_after(1.55) == {"a", "b"} and calls.sent_after(2.0) == {"a"}
    assert calls.acknowledged == [("a", 1), ("b", 3), ("a", 4)]


def test_the_summary_gives_each_kinds_median_and_max_and_the_requests_that_waited():
    rows = [
        _row("postgres", 3.0, 2.0, 2, 3.1),
        _row("member", 21.0, 20.5, 1, 21.0),
        _row("postgres", 5.0, 4.0, 2, 5.0),
        _row("postgres", 4.0, 3.0, 1, 4.2),
    ]
    found = summary(rows)
    assert found["postgres"] == {
        "kills": 3,
        "commit_median_seconds": 4.0,
        "commit_max_seconds": 5.0,
        "primary_median_seconds": 3.0,
        "synchronous_median_seconds": 3.5,
        "waited": 5,
        "longest_wait_seconds": 5.0,
    }
    assert found["member"]["kills"] == 1 and found["member"]["commit_max_seconds"] == 21.0
    assert summary([]) == {}
