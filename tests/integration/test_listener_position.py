"""A listener's position on a real database (monclub.events.listener.Follower): each batch of
effects committed with the new position in one round trip, guarded by the position it
read, so that a batch another process applied first is applied by nobody twice."""

import json

import pytest

from monclub.events.listener import Follower, PositionMoved
from monclub.events.paiements import Paiements
from tests.fixtures.postgres import add_membres


def _registration(sql, membre: int, tarif: int = 500) -> dict:
    """An event of a paid registration in the outbox, as a shard writes it: the event read back."""
    seq = sql.execute("UPDATE outbox_sequence SET seq = seq + 1 RETURNING seq").fetchone()[0]
    payload = {"seance": "s1", "membre": membre, "tarif": tarif}
    sql.execute(
        "INSERT INTO events (seq, type, aggregate, payload) VALUES (%s, 'membre_inscrit', 'seance/s1', %s::jsonb)",
        (seq, json.dumps(payload)),
    )
    return {"seq": seq, "type": "membre_inscrit", "aggregate": "seance/s1", "payload": payload}


def _payments(sql) -> int:
    return sql.execute("SELECT count(*) FROM paiements").fetchone()[0]


def _paid_registrations(sql, count: int) -> tuple[Follower, list[dict]]:
    """A Paiements follower at its position, then `count` paid registrations committed after it."""
    membres = add_membres(sql, count)
    sql.execute("INSERT INTO seances (id, titre, places, attente_max, tarif) VALUES ('s1', 'S', 5, 0, 500)")
    follower = Follower(sql, Paiements())
    return follower, [_registration(sql, membre) for membre in membres]


@pytest.mark.parametrize("batch", [1, 40], ids=["one event", "a batch"])
def test_a_batch_and_its_position_commit_together(sql, batch):
    follower, events = _paid_registrations(sql, batch)
    follower.catch_up()
    assert follower.position == events[-1]["seq"]
    position = sql.execute("SELECT seq FROM listener_positions WHERE listener = 'paiements'").fetchone()
    assert position == (events[-1]["seq"],)
    assert _payments(sql) == batch


@pytest.mark.parametrize("batch", [1, 40], ids=["one event", "a batch"])
def test_a_position_moved_by_another_process_applies_nothing_and_says_so(sql, batch):
    follower, events = _paid_registrations(sql, batch)
    sql.execute("UPDATE listener_positions SET seq = seq + 1 WHERE listener = 'paiements'")  # another process
    with pytest.raises(PositionMoved):
        follower.apply(events)
    assert _payments(sql) == 0, "the effects sent with the refused move were rolled back"
    assert sql.execute("SELECT seq FROM listener_positions WHERE listener = 'paiements'").fetchone() == (
        events[0]["seq"],
    ), "the other process's position kept"
    assert sql.execute("SELECT 1").fetchone() == (1,), "the session usable again"
