"""The tree page's deaths and returns (monclub.web.recovery), on tree reads made up here."""

from monclub.web.recovery import Recovery


def _tree(shard_pid: int | None, loaded: int | None = 3, relay_pid: int | None = 20) -> dict:
    shard = {"name": "shard-0", "pid": shard_pid, "state": "running" if shard_pid else "backoff", "loaded": loaded}
    return {
        "supervisord": {"pid": 1, "state": "running"},
        "healthy": True,
        "programs": [
            {"name": "relay", "pid": relay_pid, "state": "running" if relay_pid else "starting"},
            {"name": "reunions", "pid": 30, "state": "running", "children": [shard]},
        ],
    }


def _node(state: dict, place: str) -> dict:
    name, _, child = place.partition("/")
    program = next(p for p in state["programs"] if p["name"] == name)
    return next(c for c in program["children"] if c["name"] == child) if child else program


def test_a_kill_shows_the_place_down_at_once_until_a_new_pid_answers_its_ping():
    recovery = Recovery()
    recovery.observe(_tree(100), at=10.0)
    recovery.killed("reunions/shard-0", 100, at=10.2)
    before_kill = _tree(100)
    shown = recovery.shown(before_kill)
    assert _node(shown, "reunions/shard-0")["state"] == "down" and _node(shown, "reunions/shard-0")["pid"] is None
    assert _node(shown, "reunions/shard-0")["down"] == {"pid": 100, "since": 10.2, "exact": True}
    assert not shown["healthy"] and _node(before_kill, "reunions/shard-0")["state"] == "running", "a copy"
    recovery.observe(_tree(100), at=10.3)
    assert _node(recovery.shown(_tree(100)), "reunions/shard-0")["state"] == "down", "a read begun before the kill"
    recovery.observe(_tree(101, loaded=None), at=10.5)
    assert _node(recovery.shown(_tree(101, loaded=None)), "reunions/shard-0")["state"] == "starting"
    assert recovery.recovering(since=0.0)
    recovery.observe(_tree(101), at=10.9)
    shown = recovery.shown(_tree(101))
    assert _node(shown, "reunions/shard-0") | {"loaded": 3} == {
        "name": "shard-0",
        "pid": 101,
        "state": "running",
        "loaded": 3,
        "back_ms": 700,
    }
    assert shown["history"] == [
        {
            "place": "reunions/shard-0",
            "old_pid": 100,
            "new_pid": 101,
            "down_at": 10.2,
            "back_at": 10.9,
            "down_ms": 700,
            "exact": True,
        }
    ]
    assert shown["healthy"] and not recovery.recovering(since=0.0)


def test_a_death_not_made_by_a_button_is_dated_by_the_last_read_that_saw_it_serve():
    recovery = Recovery()
    recovery.observe(_tree(100), at=10.0)
    recovery.observe(_tree(100, relay_pid=None), at=10.5)
    assert _node(recovery.shown(_tree(100, relay_pid=None)), "relay")["down"] == {
        "pid": 20,
        "since": 10.5 - 0.5,
        "exact": False,
    }
    recovery.observe(_tree(100, relay_pid=21), at=11.0)
    assert [(e["place"], e["old_pid"], e["new_pid"], e["down_ms"], e["exact"]) for e in recovery.history] == [
        ("relay", 20, 21, 1000, False)
    ]


def test_a_missed_ping_is_no_death_and_the_history_keeps_the_last_returns_newest_first():
    recovery = Recovery(history=2)
    recovery.observe(_tree(100), at=1.0)
    recovery.observe(_tree(100, loaded=None), at=2.0)
    assert not recovery.down, "the same pid, only slow to answer"
    for pid in (101, 102, 103):
        recovery.observe(_tree(pid), at=float(pid))
    assert [(e["old_pid"], e["new_pid"]) for e in recovery.history] == [(102, 103), (101, 102)]


def test_a_place_missing_from_a_read_is_unknown_not_dead():
    recovery = Recovery()
    recovery.observe(_tree(100), at=1.0)
    silent = _tree(100)
    silent["programs"][1]["children"] = []
    recovery.observe(silent, at=1.5)
    assert not recovery.down
    recovery.observe(_tree(101), at=2.0)
    assert [(e["old_pid"], e["new_pid"], e["down_at"], e["exact"]) for e in recovery.history] == [
        (100, 101, 1.0, False)
    ], "dated by the last read that saw it serve"
