"""Every aggregate's history without a database: replay through the pure cores (from a snapshot,
or `--at` a time), a history told in words, a page's cursor, and the `aggregate` field's check."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monclub.contract.protocol import aggregate
from monclub.db.history import cursor
from monclub.db.outbox import event_payload
from monclub.errors import InvalidField, MonclubError
from monclub.history import text
from monclub.history.replay import KINDS, differences, moment, replay, state_at
from monclub.prets import pret
from monclub.reunions import seance

T0 = datetime(2026, 11, 24, 17, 2, 11, tzinfo=UTC)


def rows_of(aggregate: str, events: list, start: datetime = T0) -> list[dict]:
    """Archived rows as the archive holds them, one minute apart."""
    rows = []
    for n, event in enumerate(events, start=1):
        kind, payload = event_payload(event)
        rows.append(
            {"seq": n, "type": kind, "aggregate": aggregate, "at": start + timedelta(minutes=n), "payload": payload}
        )
    return rows


SEANCE = [
    seance.SeanceCreee("polar", "Soirée Polar", 2, 1, 800),
    seance.MembreInscrit("polar", 1),
    seance.MembreInscrit("polar", 2),
    seance.MembreMisEnAttente("polar", 3, 1),
    seance.MembreDesinscrit("polar", 1, True),
    seance.MembrePromu("polar", 3),
]


def test_replay_folds_the_events_through_the_core_and_gives_the_state_the_core_gives():
    replayed = replay(KINDS["seance"], rows_of("seance/polar", SEANCE))
    assert seance.etat(replayed) == seance.etat(seance.appliquer_tous(None, SEANCE))
    assert seance.etat(replayed)["inscrits"] == [2, 3]


def test_replay_starts_again_from_a_snapshot_so_that_the_events_before_it_are_not_needed():
    snapshot = {"seq": 4, "type": "snapshot", "aggregate": "seance/polar", "at": T0}
    snapshot["payload"] = {"seance": "polar", "titre": "Soirée Polar", "places": 2, "attente_max": 1, "tarif": 800}
    snapshot["payload"] |= {"annulee": False, "inscrits": [1, 2], "attente": [3], "quand": "2026-12-10T18:00:00Z"}
    rows = [snapshot, *rows_of("seance/polar", SEANCE)[4:]]
    replayed = seance.etat(replay(KINDS["seance"], rows))
    assert (replayed["inscrits"], replayed["quand"]) == ([2, 3], "2026-12-10T18:00:00Z")


def test_the_state_at_a_time_is_the_state_after_the_events_committed_by_then():
    rows = rows_of("seance/polar", SEANCE)
    then = state_at(KINDS["seance"], "seance/polar", rows, T0 + timedelta(minutes=4, seconds=30))
    assert (then["inscrits"], then["attente"]) == ([1, 2], [3])
    with pytest.raises(MonclubError) as before:
        state_at(KINDS["seance"], "seance/polar", rows, T0)
    assert before.value.code == "seance_inconnue"


def test_a_loan_replays_with_its_times_and_differences_tolerate_the_stored_microseconds():
    events = [pret.LivreAjoute("dune", "Dune"), pret.LivreEmprunte("dune", 2, 1795538540.4306166)]
    replayed = pret.etat(replay(KINDS["livre"], rows_of("livre/dune", events)))
    stored = {**replayed, "echeance": 1795538540.430617}
    assert differences(stored, replayed) == []
    assert differences({**stored, "emprunteur": 5}, replayed) == ["emprunteur: 5 != 2"]


def test_a_history_is_told_in_words_with_names_ranks_and_a_line_per_day():
    rows = [{**row, "at": row["at"].isoformat()} for row in rows_of("seance/polar", SEANCE)]
    lines = text.told(rows, {1: "Marie", 2: "Paul"})
    assert lines[0] == datetime.fromisoformat(rows[0]["at"]).astimezone().date().isoformat()
    words = [line.split(" ", 1)[1] for line in lines[1:]]
    assert words == [
        "seance_creee 'Soirée Polar', 2 places, attente 1, 8.00 EUR",
        "membre_inscrit Marie (rang 1)",
        "membre_inscrit Paul (rang 2)",
        "membre_mis_en_attente membre 3 (attente 1)",
        "membre_desinscrit Marie",
        "membre_promu membre 3 from attente",
    ]
    assert text.named(rows) == {1, 2, 3}


def test_a_seance_moved_replays_through_the_core_and_is_told_in_the_clubs_zone():
    moved = [
        seance.SeanceCreee("polar", "Soirée Polar", 2, 1, 800, "2026-12-10T18:00:00Z"),
        seance.MembreInscrit("polar", 1),
        seance.SeanceDeplacee("polar", "2026-12-10T18:00:00Z", "2026-12-11T19:30:00Z", (1,), ()),
    ]
    rows = rows_of("seance/polar", moved)
    assert seance.etat(replay(KINDS["seance"], rows))["quand"] == "2026-12-11T19:30:00Z"
    older = {**rows[0], "payload": {k: v for k, v in rows[0]["payload"].items() if k != "quand"}}
    assert seance.etat(replay(KINDS["seance"], [older]))["quand"] is None, "an event from before quand existed"
    paris = ZoneInfo("Europe/Paris")
    lines = text.told([{**row, "at": row["at"].isoformat()} for row in rows], {1: "Marie"}, paris)
    assert lines[1] == "18:03:11 seance_creee 'Soirée Polar', 2 places, attente 1, 8.00 EUR, 2026-12-10 19:00"
    assert lines[3] == (
        "18:05:11 seance_deplacee from 2026-12-10 19:00 to 2026-12-11 20:30, 1 inscrit and 0 in attente told"
    )
    assert moment("at", "2026-12-10T19:00", paris) == datetime(2026, 12, 10, 18, tzinfo=UTC)


def test_a_cursor_puts_a_snapshot_after_the_event_whose_seq_it_shares():
    assert (
        cursor({"seq": 7, "type": "membre_promu"})
        < cursor({"seq": 7, "type": "snapshot"})
        < cursor({"seq": 8, "type": "x"})
    )


@pytest.mark.parametrize("value", ["seance/polar", "livre/dune-2", "membre/12"])
def test_an_aggregate_is_a_seance_a_copy_or_a_member(value):
    assert aggregate("aggregate", value) == value


@pytest.mark.parametrize("value", ["polar", "seance/", "seance/a b", "membre/0", "membre/x", "casier/1", 3, None])
def test_anything_else_is_refused_naming_the_field(value):
    with pytest.raises(InvalidField) as refused:
        aggregate("aggregate", value)
    assert refused.value.field == "aggregate"
