"""A shard process's batch spread over several partitions, on the in-memory store double: the
commands of all its partitions commit in one transaction, and whatever fails in it, each owner
ends as it would have alone: a refused part does not cost the others their commit, a commit whose
outcome is unknown is resolved by request id, and nothing is applied twice or answered twice."""

import pytest

from monclub.reunions.seance import liste_inscrits
from tests.unit.test_shard_host import ask, creer, host, seance_in

A, B = seance_in(0), seance_in(2)


def inscrire(seance: str, membre: int, tag: str = "1") -> object:
    return ask(f"inscrire-{seance}-{membre}-{tag}", "inscrire", seance=seance, membre=membre)


def code(reply: dict | None) -> str | None:
    if reply is None:
        return None
    return reply["result"]["statut"] if reply["ok"] else reply["error"]["code"]


def inscrits(database, seance: str) -> tuple:
    return tuple(liste_inscrits(database.states[seance]))


@pytest.fixture
def shard():
    """A host of partitions 0 and 2 with a séance of one place in each, created in one batch."""
    shard, databases = host([0, 2])
    assert all(reply["ok"] for reply in shard.handle_batch([creer(A), creer(B)]))
    return shard, databases


def test_the_commands_of_several_partitions_commit_in_one_transaction(shard):
    shard, databases = shard
    replies = shard.handle_batch([inscrire(A, 1), inscrire(B, 1), inscrire(A, 2)])
    assert [code(r) for r in replies] == ["inscrit", "inscrit", "seance_complete"]
    assert inscrits(databases[0], A) == (1,) and inscrits(databases[2], B) == (1,)
    assert databases[0].shared == 2 and databases[2].shared == 0, "one transaction per batch, on the first's session"
    assert [r["epoch"] for r in replies] == [1, 1, 1]


def test_a_shared_transaction_counts_once_in_the_stats_with_all_its_commands(shard):
    shard, _ = shard
    lead, other = shard.owners[0].stats.batches, shard.owners[2].stats.batches
    before = sum(lead.counts), lead.sum, sum(other.counts)
    shard.handle_batch([inscrire(A, 1), inscrire(B, 1), inscrire(B, 2)])
    assert (sum(lead.counts), lead.sum, sum(other.counts)) == (before[0] + 1, before[1] + 3, before[2])


def test_a_part_fenced_out_leaves_the_others_committed_on_their_own(shard):
    shard, databases = shard
    databases[2].take_over()
    replies = shard.handle_batch([inscrire(A, 1), inscrire(B, 1)])
    assert [code(r) for r in replies] == ["inscrit", "unavailable"]
    assert "no longer owns" in replies[1]["error"]["message"]
    assert inscrits(databases[0], A) == (1,) and inscrits(databases[2], B) == ()
    assert not shard.owners[2].owning and shard.owners[0].owning


def test_an_unknown_membre_in_one_part_costs_the_others_nothing(shard):
    shard, databases = shard
    replies = shard.handle_batch([inscrire(A, 1), inscrire(B, 99), inscrire(B, 2)])
    assert [code(r) for r in replies] == ["inscrit", "membre_inconnu", "inscrit"], "decided alone, in order"
    assert inscrits(databases[0], A) == (1,) and inscrits(databases[2], B) == (2,)


def test_a_request_already_applied_gets_its_stored_reply_and_the_others_commit(shard):
    shard, databases = shard
    first = shard.handle(inscrire(B, 1))
    replies = shard.handle_batch([inscrire(A, 1), inscrire(B, 1)])
    assert replies[1] == first and code(replies[0]) == "inscrit"
    assert inscrits(databases[0], A) == (1,) and inscrits(databases[2], B) == (1,)


@pytest.mark.parametrize(("fault", "applied"), [("commit", True), ("write", False)])
def test_a_shared_commit_whose_outcome_is_unknown_is_resolved_by_request_id_for_every_part(shard, fault, applied):
    shard, databases = shard
    databases[0].fail(fault)
    replies = shard.handle_batch([inscrire(A, 1), inscrire(B, 1)])
    expected = "inscrit" if applied else "unavailable"
    assert [code(r) for r in replies] == [expected, expected]
    assert inscrits(databases[0], A) == ((1,) if applied else ())
    assert inscrits(databases[2], B) == ((1,) if applied else ())
    assert databases[0].epoch == databases[2].epoch == 2, "every part resolved on a new session"
    again = shard.handle_batch([inscrire(A, 1), inscrire(B, 1)])
    assert [code(r) for r in again] == ["inscrit", "inscrit"]
    assert inscrits(databases[0], A) == (1,) and inscrits(databases[2], B) == (1,), "applied once"


def test_a_session_ended_before_the_shared_write_answers_its_part_unavailable_and_the_others_commit(shard):
    shard, databases = shard
    databases[0].fail("ended")
    replies = shard.handle_batch([inscrire(A, 1), inscrire(B, 1)])
    assert [code(r) for r in replies] == ["unavailable", "inscrit"]
    assert inscrits(databases[0], A) == () and inscrits(databases[2], B) == (1,)


def test_a_partition_whose_part_holds_a_query_commits_on_its_own(shard):
    shard, databases = shard
    replies = shard.handle_batch([inscrire(A, 1), ask("etat-b-0001", "etat", seance=B), inscrire(B, 1)])
    assert [r["ok"] for r in replies] == [True, True, True]
    assert databases[0].shared == 1, "only the creation batch was shared"
