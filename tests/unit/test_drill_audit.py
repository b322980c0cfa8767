"""The drill's auditor: acknowledged outcomes of one pair against that pair's recorded events."""

from monclub.drills.load import consistent


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
