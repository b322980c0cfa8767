"""The owner's failure paths, on the in-memory store double (no PostgreSQL): a session lost at each
step of a batch, a commit whose outcome is unknown, a request id already applied, a batch retried
command by command. Whatever fails, a command answered ok is applied exactly once, a command
answered `unavailable` is not applied, an unanswered one gets its one answer when resent, and the
owner's memory ends equal to the database."""

from pathlib import Path

import pytest

from monclub.config import Config
from monclub.contract import protocol
from monclub.prets.ops import OPS as LIVRE_OPS
from monclub.prets.shard import livre_domain
from monclub.reunions.domain import Seances
from monclub.reunions.ops import OPS
from monclub.reunions.seance import liste_inscrits
from monclub.shards.lease import LEASE_TRUSTED
from monclub.shards.owner import Owner
from monclub.wire import codec as wire
from tests.fixtures.memory_store import MemoryDatabase

NOW = 1_000_000.0


def ask(request_id: str, op: str, **fields) -> protocol.Request:
    return OPS.parse(protocol.request(request_id, op, **fields))


def inscrire(membre: int, seance: str = "polar") -> protocol.Request:
    return ask(f"inscrire-{seance}-{membre:04d}", "inscrire", seance=seance, membre=membre)


def statut(reply: dict | None) -> str | None:
    if reply is None:
        return None
    return reply["result"]["statut"] if reply["ok"] else reply["error"]["code"]


@pytest.fixture
def db():
    database = MemoryDatabase(Seances(), membres=range(1, 11))
    owner = Owner(Seances(), 0, database.open)
    assert owner.handle(ask("creer-polar-0001", "creer", seance="polar", titre="Polar", places=5, attente=0, tarif=0))[
        "ok"
    ]
    owner.lease.forget()
    return database


def fresh_owner(db: MemoryDatabase) -> Owner:
    """An owner with nothing in memory, as a restarted shard process has."""
    if db.session is not None:
        db.session.close()
    return Owner(Seances(), 0, db.open)


def inscrits(db: MemoryDatabase) -> list[int]:
    return list(liste_inscrits(db.states["polar"]))


def test_commit_outcome_unknown_then_found_by_request_id(db):
    owner = fresh_owner(db)
    db.fail("commit")
    assert statut(owner.handle(inscrire(1))) == "inscrit"
    assert inscrits(db) == [1]
    assert statut(owner.handle(inscrire(2))) == "inscrit"
    assert inscrits(db) == [1, 2] and not owner.outcomes.unresolved


def test_commit_outcome_unknown_then_not_found_answers_unavailable_and_nothing_is_applied(db):
    owner = fresh_owner(db)
    owner.handle(ask("etat-polar-00001", "etat", seance="polar"))
    db.fail("write")
    reply = owner.handle(inscrire(1))
    assert statut(reply) == "unavailable" and "nothing was committed" in reply["error"]["message"]
    assert inscrits(db) == []
    assert statut(owner.handle(inscrire(1))) == "inscrit"
    assert inscrits(db) == [1]


@pytest.mark.parametrize("committed", [True, False], ids=["committed", "not-committed"])
def test_an_outcome_that_cannot_be_resolved_is_not_answered_and_the_retry_gets_the_one_answer(db, committed):
    owner = fresh_owner(db)
    db.fail("commit" if committed else "write")
    db.fail("stored_replies")
    assert owner.handle(inscrire(1)) is None
    assert "inscrire-polar-0001" in owner.outcomes.unresolved
    assert statut(owner.handle(inscrire(1))) == "inscrit"
    assert inscrits(db) == [1] and not owner.outcomes.unresolved


def test_a_request_already_applied_gets_its_stored_reply_not_a_new_decision(db):
    first = fresh_owner(db).handle(inscrire(1))
    again = fresh_owner(db).handle(inscrire(1))
    assert again == first == wire.decode(db.replies["inscrire-polar-0001"].reply)
    assert statut(again) == "inscrit" and inscrits(db) == [1]


@pytest.mark.parametrize("fault, expected", [("commit", "inscrit"), ("write", "unavailable")])
def test_a_batch_whose_session_is_lost_at_commit_is_resolved_as_a_whole(db, fault, expected):
    owner = fresh_owner(db)
    owner.handle(ask("etat-polar-00001", "etat", seance="polar"))
    db.fail(fault)
    replies = owner.handle_batch([inscrire(m) for m in (1, 2, 3)])
    assert [statut(r) for r in replies] == [expected] * 3
    assert inscrits(db) == ([1, 2, 3] if expected == "inscrit" else [])


def test_a_batch_fenced_by_a_new_owner_is_refused_whole_and_memory_dropped(db):
    owner = fresh_owner(db)
    assert statut(owner.handle(inscrire(1))) == "inscrit"
    db.take_over()
    replies = owner.handle_batch([inscrire(2), inscrire(3)])
    assert [statut(r) for r in replies] == ["unavailable", "unavailable"]
    assert "no longer owns" in replies[0]["error"]["message"]
    assert inscrits(db) == [1] and len(owner.memory.aggregates) == 0 and owner.lease.store is None


def test_a_refused_batch_is_retried_command_by_command(db):
    owner = fresh_owner(db)
    before = db.transactions
    db.refuse_next_write()
    assert [statut(r) for r in owner.handle_batch([inscrire(1), inscrire(2)])] == ["inscrit", "inscrit"]
    assert db.transactions == before + 2 and inscrits(db) == [1, 2]


def test_a_command_refused_alone_too_is_decided_once_more_on_its_aggregate_loaded_again(db):
    owner = fresh_owner(db)
    owner.handle(inscrire(1))
    db.refuse_next_write()
    db.refuse_next_write()
    assert statut(owner.handle(inscrire(2))) == "inscrit"
    assert inscrits(db) == [1, 2] and db.refusals == 0
    assert owner.memory.aggregates.peek("polar") == db.states["polar"], "memory is what was stored"


@pytest.mark.parametrize("refusals", [3, 4])
def test_a_command_refused_after_its_reload_answers_internal_error_without_a_loop(db, refusals):
    owner = fresh_owner(db)
    for _ in range(refusals):
        db.refuse_next_write()
    reply = owner.handle(inscrire(1))
    assert statut(reply) == "internal_error" and "nothing was committed" in reply["error"]["message"]
    assert db.refusals == refusals - 3, "three writes: on trust, membre checked, reloaded"
    assert inscrits(db) == [] and "polar" not in owner.memory.aggregates


def test_an_unknown_membre_in_a_batch_fails_it_and_each_command_is_decided_alone(db):
    owner = fresh_owner(db)
    replies = owner.handle_batch([inscrire(1), inscrire(99), inscrire(2)])
    assert [statut(r) for r in replies] == ["inscrit", "membre_inconnu", "inscrit"]
    assert inscrits(db) == [1, 2] and 99 not in owner.memory.membres


def test_an_unknown_membre_alone_is_taken_on_trust_then_checked_when_its_write_fails(db):
    owner = fresh_owner(db)
    db.fail("membre_exists")
    assert statut(owner.handle(inscrire(99))) == "unavailable", "the check after the failed write was lost"
    assert not +db.faults
    assert statut(owner.handle(inscrire(99))) == "membre_inconnu"
    assert inscrits(db) == [] and 99 not in owner.memory.membres


def test_a_known_membre_costs_no_lookup_before_its_write(db):
    owner = fresh_owner(db)
    db.fail("membre_exists")
    assert statut(owner.handle(inscrire(1))) == "inscrit"
    assert +db.faults, "the membre was looked up before its write"


def test_a_session_the_server_ended_before_the_batch_was_sent_answers_unavailable_not_silence(db):
    owner = fresh_owner(db)
    db.fail("ended")
    replies = owner.handle_batch([inscrire(1), inscrire(2)])
    assert [statut(reply) for reply in replies] == ["unavailable", "unavailable"]
    assert not owner.outcomes.unresolved and inscrits(db) == []
    assert [statut(reply) for reply in owner.handle_batch([inscrire(1), inscrire(2)])] == ["inscrit", "inscrit"]


SCENARIOS = [
    (("load_all",), 1),
    (("load_all",), 3),
    (("write",), 1),
    (("write",), 3),
    (("commit",), 1),
    (("commit",), 3),
    (("write", "stored_replies"), 1),
    (("write", "stored_replies"), 3),
    (("commit", "stored_replies"), 1),
    (("commit", "stored_replies"), 3),
]


@pytest.mark.parametrize("faults, size", SCENARIOS, ids=[f"{'+'.join(f)}-{n}" for f, n in SCENARIOS])
def test_a_session_lost_at_any_step_never_loses_nor_doubles_an_answered_command(db, faults, size):
    owner = fresh_owner(db)
    for step in faults:
        db.fail(step)
    batch = [inscrire(m) for m in range(1, size + 1)]
    replies = owner.handle_batch(batch)
    assert not +db.faults, "every injected fault was reached"
    for request, reply in zip(batch, replies, strict=True):
        membre = request.args["membre"]
        if statut(reply) == "inscrit":
            assert inscrits(db).count(membre) == 1
        elif reply is None:
            assert request.id in owner.outcomes.unresolved
        else:
            assert statut(reply) == "unavailable" and membre not in inscrits(db)
    answers = owner.handle_batch(
        [request for request, reply in zip(batch, replies, strict=True) if statut(reply) != "inscrit"]
    )
    assert all(statut(answer) == "inscrit" for answer in answers)
    assert inscrits(db) == list(range(1, size + 1))
    etat = owner.handle(ask("etat-polar-00002", "etat", seance="polar"))
    assert etat["result"]["inscrits"] == inscrits(db)


LIVRES = livre_domain(Config(home=Path("/nonexistent"), pret_shards=1, relance_seconds=3600.0))


def lent(clock: list[float], domain=LIVRES, **owner_options) -> tuple[Owner, MemoryDatabase]:
    """An owner of a copy lent for one day at clock[0] (the test moves it), on a database whose
    due timers are those of the copies' next reminders."""
    db = MemoryDatabase(
        LIVRES, membres=[1], due=lambda livre, now: livre.prochaine is not None and livre.prochaine <= now
    )
    owner = Owner(domain, 0, db.open, clock=lambda: clock[0], **owner_options)
    for request in (
        protocol.request("ajouter-lent-0001", "ajouter", livre="lent", titre="Lent"),
        protocol.request("emprunter-lent-01", "emprunter", livre="lent", membre=1, jours=1),
    ):
        assert owner.handle(LIVRE_OPS.parse(request))["ok"]
    return owner, db


def test_a_timer_whose_commit_outcome_is_unknown_fires_once():
    clock = [NOW]
    owner, db = lent(clock)
    clock[0] = NOW + 2 * 86400
    db.fail("due")
    owner.tick()
    assert [kind for kind, _, _ in db.outbox][-1] == "livre_emprunte"
    db.fail("commit")
    owner.tick()
    owner.tick()
    assert [kind for kind, _, _ in db.outbox].count("pret_en_retard") == 1


def test_an_unresolved_command_is_never_answered_unavailable_while_the_database_is_down(db):
    """`unavailable` says nothing was committed: for a command whose commit may have happened,
    silence (the client resends) is the only true answer until the database can tell."""
    owner = fresh_owner(db)
    db.fail("commit")
    db.fail("stored_replies")
    assert owner.handle(inscrire(1)) is None
    db.up = False
    assert owner.handle(inscrire(1)) is None
    assert statut(owner.handle(inscrire(2))) == "unavailable"
    db.up = True
    assert statut(owner.handle(inscrire(1))) == "inscrit"
    assert inscrits(db) == [1]


class Monotonic:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_memory_answers_reads_only_while_the_lease_runs_then_renews_it_first(db):
    clock = Monotonic()
    owner = Owner(Seances(), 0, db.open, monotonic=clock)
    assert statut(owner.handle(inscrire(1))) == "inscrit"
    db.take_over()
    clock.now += LEASE_TRUSTED / 2
    assert owner.handle(ask("etat-polar-00001", "etat", seance="polar"))["result"]["inscrits"] == [1]
    clock.now += LEASE_TRUSTED
    refused = owner.handle(ask("etat-polar-00002", "etat", seance="polar"))
    assert statut(refused) == "unavailable" and "no longer owns" in refused["error"]["message"]
    assert len(owner.memory.aggregates) == 0 and owner.lease.store is None


def test_the_tick_renews_the_lease_a_third_of_a_lease_before_it_ends(db):
    clock = Monotonic()
    owner = Owner(Seances(), 0, db.open, monotonic=clock)
    owner.handle(inscrire(1))
    first = owner.lease.owned_until
    owner.tick()
    assert owner.lease.owned_until == first
    clock.now = first - LEASE_TRUSTED / 2
    owner.tick()
    assert owner.lease.owned_until == clock.now + LEASE_TRUSTED
    db.fail("renew")
    clock.now = owner.lease.owned_until - LEASE_TRUSTED / 2
    owner.tick()
    assert owner.lease.store is None and len(owner.memory.aggregates) == 0


def test_a_request_id_resent_with_another_request_is_refused_even_by_a_fresh_owner(db):
    first = fresh_owner(db).handle(inscrire(3))
    reused = ask("inscrire-polar-0003", "inscrire", seance="polar", membre=4)
    assert statut(first) == "inscrit"
    assert statut(fresh_owner(db).handle(reused)) == "request_id_reused"
    assert fresh_owner(db).handle(inscrire(3)) == first
    assert inscrits(db) == [3]


def test_an_owner_says_once_that_it_committed_events_and_not_for_a_query_or_a_resend(db):
    owner = fresh_owner(db)
    owner.handle_batch([inscrire(1), inscrire(2)])
    assert owner.take_unpublished() and not owner.take_unpublished()
    owner.handle(ask("etat-polar-00003", "etat", seance="polar"))
    owner.handle(inscrire(1))
    assert not owner.take_unpublished(), "a query and a resend commit no event"
