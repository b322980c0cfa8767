"""The bus's replay socket: the events from a seq, in order, one bounded page at a time, as
PostgreSQL's outbox holds them (docs/protocol.md, section 15)."""

from monclub.db.outbox import append_events, read_events
from monclub.events.replay import PAGE_BYTES, PAGE_EVENTS
from monclub.wire import codec as wire


def _append(sql, count: int, size: int = 1) -> None:
    with sql.transaction():
        append_events(sql, [("seance_creee", f"seance/s{n}", {"seance": "x" * size, "n": n}) for n in range(count)])


def test_the_events_from_a_seq_come_in_order_with_the_latest_seq(replay, sql):
    _append(sql, 5)
    result = replay.call("events", depuis=2, limite=3)["result"]
    assert [event["seq"] for event in result["events"]] == [2, 3, 4]
    assert result["dernier"] == 5
    assert result["events"] == read_events(sql, 1, 3)
    assert replay.call("events", depuis=6, limite=PAGE_EVENTS)["result"] == {"events": [], "dernier": 5}


def test_a_page_stops_at_its_byte_budget_but_always_holds_one_event(replay, sql):
    _append(sql, 100, size=4000)
    with sql.transaction():
        append_events(sql, [("seance_annulee", "seance/grande", {"inscrits": list(range(10**6, 10**6 + 100_000))})])
    first = replay.call("events", depuis=1, limite=PAGE_EVENTS)["result"]["events"]
    assert 1 < len(first) < 100
    assert sum(len(wire.encode(event)) for event in first) <= PAGE_BYTES
    large = replay.call("events", depuis=101, limite=PAGE_EVENTS)["result"]["events"]
    assert [event["seq"] for event in large] == [101] and len(wire.encode(large[0])) > PAGE_BYTES


def test_pruned_events_show_as_a_first_seq_beyond_the_one_asked(replay, sql, owner_sql):
    _append(sql, 4)
    owner_sql.execute("DELETE FROM events WHERE seq <= 2")
    result = replay.call("events", depuis=1, limite=10)["result"]
    assert [event["seq"] for event in result["events"]] == [3, 4]


def test_bad_input_is_refused_naming_the_field(replay):
    for fields, message in [
        ({"depuis": 0, "limite": 1}, "field 'depuis' must be an integer from 1 to 9223372036854775807"),
        ({"depuis": 1, "limite": PAGE_EVENTS + 1}, f"field 'limite' must be an integer from 1 to {PAGE_EVENTS}"),
        ({"depuis": 1}, "op 'events' needs field 'limite'"),
    ]:
        reply = replay.call("events", **fields)
        assert reply["error"] == {"code": "invalid_request", "message": message}
