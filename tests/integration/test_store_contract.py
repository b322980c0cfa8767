"""The contract of a shard's store, run against PostgreSQL and against the in-memory double that
the owner's unit tests use (tests/fixtures/memory_store.py): what one passes, the other must."""

from pathlib import Path

import psycopg
import pytest

from monclub.cluster import ownership
from monclub.config import Config
from monclub.errors import Unavailable
from monclub.prets import pret
from monclub.prets.shard import livre_domain
from monclub.prets.store import LivreStore
from monclub.reunions import seance
from monclub.reunions.domain import Seances
from monclub.reunions.store import SeanceStore
from monclub.shards.batch import Write
from monclub.shards.domain import outbox_records
from monclub.shards.store import AlreadyApplied, Stored
from monclub.wire import codec as wire
from tests.fixtures.memory_store import MemoryDatabase
from tests.fixtures.ownership import bump
from tests.fixtures.postgres import add_membres
from tests.fixtures.waiting import wait_for

LIVRES = livre_domain(Config(home=Path("/nonexistent"), pret_shards=1))
DOMAINS = {"seances": (Seances(), SeanceStore), "livres": (LIVRES, LivreStore)}


class Postgres:
    def __init__(self, database: str, sql: psycopg.Connection, domain: str):
        self.database, self.sql = database, sql
        self.domain, self.store_class = DOMAINS[domain]
        self.opened: list = []

    def add_membres(self, count: int) -> list[int]:
        return add_membres(self.sql, count)

    def open(self, partition: int = 0):
        store = self.store_class.open(self.database, f"{self.domain.branch}/shard-0", partition)
        self.opened.append(store)
        return store

    def close(self) -> None:
        for store in self.opened:
            store.close()

    def end(self, store) -> None:
        """Close a session and wait until its server process is gone with its lock (a close does
        not wait for it): a new session of this process then takes the partition at once."""
        backend = store.conn.info.backend_pid
        store.close()
        gone = "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = %s)"
        wait_for(lambda: self.sql.execute(gone, (backend,)).fetchone()[0], 10, "the closed session to end")

    def break_session(self, store) -> None:
        """Drop the session's prepared statements behind psycopg's back, as a server restart in
        the middle of a pipeline can leave them: the next write fails without being refused."""
        store.conn.pgconn.exec_(b"DEALLOCATE ALL")

    def take_over(self, partition: int = 0) -> None:
        """Another owner acquires the partition (as a node that found the lease expired would)."""
        bump(self.sql, self.domain.branch, partition, "another owner")

    def outbox(self) -> list[tuple[str, str]]:
        return [tuple(row) for row in self.sql.execute("SELECT type, aggregate FROM events ORDER BY seq")]


class Memory:
    """One in-memory database per partition, sharing the membres, as the one PostgreSQL does."""

    def __init__(self, domain: str):
        self.domain = DOMAINS[domain][0]
        self.membres: set[int] = set()
        self.partitions: dict[int, MemoryDatabase] = {}
        self.db = self.database(0)
        self.next_membre = 1

    def database(self, partition: int) -> MemoryDatabase:
        if partition not in self.partitions:
            due = lambda livre, now: livre.prochaine is not None and livre.prochaine <= now  # noqa: E731
            self.partitions[partition] = MemoryDatabase(self.domain, due=due)
            self.partitions[partition].membres = self.membres
        return self.partitions[partition]

    def add_membres(self, count: int) -> list[int]:
        ids = list(range(self.next_membre, self.next_membre + count))
        self.next_membre += count
        self.membres.update(ids)
        return ids

    def open(self, partition: int = 0):
        return self.database(partition).open()

    def end(self, store) -> None:
        store.close()

    def close(self) -> None:
        pass

    def break_session(self, store) -> None:
        self.db.fail("write")

    def take_over(self, partition: int = 0) -> None:
        self.database(partition).take_over()

    def outbox(self) -> list[tuple[str, str]]:
        return [(kind, aggregate) for db in self.partitions.values() for kind, aggregate, _ in db.outbox]


def _harness(request, domain: str):
    if request.param == "memory":
        return Memory(domain)
    return Postgres(request.getfixturevalue("database"), request.getfixturevalue("sql"), domain)


@pytest.fixture(params=["memory", pytest.param("postgres", marks=pytest.mark.pg)])
def seances(request):
    harness = _harness(request, "seances")
    yield harness
    harness.close()


@pytest.fixture(params=["memory", pytest.param("postgres", marks=pytest.mark.pg)])
def livres(request):
    harness = _harness(request, "livres")
    yield harness
    harness.close()


def write(harness, request_id: str | None, before, events: list) -> tuple[Write, object]:
    after = harness.domain.apply(before, events)
    records = outbox_records(harness.domain, events, after)
    reply = None if request_id is None else wire.encode({"id": request_id, "ok": True})
    empreinte = None if request_id is None else f"print of {request_id}".encode()
    return Write(request_id, events, records, reply, empreinte), after


def creer(harness, store, seance_id: str = "polar", places: int = 2, attente: int = 1):
    done, after = write(
        harness, f"creer-{seance_id}-01", None, seance.creer(seance_id, seance_id.title(), places, attente, 500)
    )
    store.write([done])
    return after


def test_a_batch_is_stored_and_loads_back_as_the_domain_folds_it(seances):
    store = seances.open()
    a, b, c = seances.add_membres(3)
    polar = creer(seances, store)
    writes, state = [], polar
    for i, membre in enumerate((a, b, c)):
        done, state = write(seances, f"inscrire-{i:04d}", state, seance.inscrire(state, membre))
        writes.append(done)
    store.write(writes)
    assert store.load_all(["polar", "ghost"]) == {"polar": state}
    seances.end(store)
    assert seances.open().load_all(["polar"])["polar"].attente == (c,)
    assert seances.outbox() == [
        ("seance_creee", "seance/polar"),
        ("membre_inscrit", "seance/polar"),
        ("membre_inscrit", "seance/polar"),
        ("membre_mis_en_attente", "seance/polar"),
    ]


def test_stored_replies_are_found_by_request_id_byte_for_byte_with_their_fingerprint(seances):
    store = seances.open()
    creer(seances, store)
    assert store.stored_replies(["creer-polar-01", "never-sent-01"]) == {
        "creer-polar-01": Stored(wire.encode({"id": "creer-polar-01", "ok": True}), b"print of creer-polar-01")
    }


def test_a_request_id_already_applied_fails_the_whole_batch(seances):
    store = seances.open()
    (a,) = seances.add_membres(1)
    polar = creer(seances, store)
    fresh, _ = write(seances, "inscrire-fresh-01", polar, seance.inscrire(polar, a))
    again, _ = write(seances, "creer-polar-01", polar, [])
    with pytest.raises(AlreadyApplied):
        store.write([fresh, again])
    assert store.usable
    assert store.load_all(["polar"])["polar"] == polar
    assert store.stored_replies(["inscrire-fresh-01"]) == {}


def test_an_unknown_membre_fails_the_batch_and_the_session_survives(seances):
    store = seances.open()
    (a,) = seances.add_membres(1)
    polar = creer(seances, store)
    known, state = write(seances, "inscrire-known-01", polar, seance.inscrire(polar, a))
    ghost, _ = write(seances, "inscrire-ghost-01", state, seance.inscrire(state, 999_999))
    with pytest.raises(psycopg.IntegrityError):
        store.write([known, ghost])
    assert store.usable
    assert store.load_all(["polar"])["polar"] == polar
    assert store.stored_replies(["inscrire-known-01"]) == {}
    assert len(seances.outbox()) == 1


def test_a_failure_that_is_no_refusal_leaves_the_session_unusable(seances):
    """Only a refusal (integrity, data) leaves the session usable: after any other failure the
    owner must resolve the outcome by request id on a new session."""
    store = seances.open()
    polar = creer(seances, store)
    for places in range(3, 10):
        done, polar = write(seances, f"places-polar-{places:04d}", polar, seance.changer_places(polar, places))
        store.write([done])
    seances.break_session(store)
    broken, _ = write(seances, "places-polar-0099", polar, seance.changer_places(polar, 20))
    with pytest.raises(psycopg.Error):
        store.write([broken])
    assert not store.usable


def test_a_write_after_another_owner_acquired_the_partition_is_fenced_whole(seances):
    store = seances.open()
    (a,) = seances.add_membres(1)
    polar = creer(seances, store)
    seances.take_over()
    done, _ = write(seances, "inscrire-stale-01", polar, seance.inscrire(polar, a))
    with pytest.raises(ownership.FencedOut):
        store.write([done])
    assert not store.usable
    assert len(seances.outbox()) == 1


def two_partitions(harness):
    """Stores of partitions 0 and 1, a séance created in each, and a membre."""
    stores = harness.open(0), harness.open(1)
    (membre,) = harness.add_membres(1)
    return stores, [creer(harness, store, name) for store, name in zip(stores, ("polar", "manga"), strict=True)], membre


def test_batches_of_several_partitions_commit_together_on_one_session(seances):
    (own, other), (polar, manga), a = two_partitions(seances)
    at_polar, polar = write(seances, "inscrire-polar-01", polar, seance.inscrire(polar, a))
    at_manga, manga = write(seances, "inscrire-manga-01", manga, seance.inscrire(manga, a))
    own.write_shared([(own, [at_polar]), (other, [at_manga])])
    assert own.load_all(["polar"]) == {"polar": polar} and other.load_all(["manga"]) == {"manga": manga}
    assert own.stored_replies(["inscrire-polar-01"]).keys() == {"inscrire-polar-01"}
    assert other.stored_replies(["inscrire-manga-01"]).keys() == {"inscrire-manga-01"}
    assert sorted(seances.outbox()).count(("membre_inscrit", "seance/manga")) == 1


@pytest.mark.parametrize("refused", ["fenced", "applied", "membre"])
def test_a_refused_part_rolls_the_shared_write_back_whole_and_the_session_survives(seances, refused):
    (own, other), (polar, manga), a = two_partitions(seances)
    at_polar, _ = write(seances, "inscrire-polar-01", polar, seance.inscrire(polar, a))
    membre = 999_999 if refused == "membre" else a
    request_id = "creer-manga-01" if refused == "applied" else "inscrire-manga-01"
    at_manga, _ = write(seances, request_id, manga, seance.inscrire(manga, membre))
    if refused == "fenced":
        seances.take_over(1)
    expected = {"fenced": ownership.FencedOut, "applied": AlreadyApplied, "membre": psycopg.IntegrityError}[refused]
    with pytest.raises(expected):
        own.write_shared([(own, [at_polar]), (other, [at_manga])])
    assert own.usable
    assert own.load_all(["polar"]) == {"polar": polar} and other.load_all(["manga"]) == {"manga": manga}
    assert own.stored_replies(["inscrire-polar-01"]) == {}
    own.write([at_polar])
    assert own.stored_replies(["inscrire-polar-01"]).keys() == {"inscrire-polar-01"}


def test_each_part_of_a_shared_write_carries_its_own_partition_epoch(database, sql):
    harness = Postgres(database, sql, "seances")
    try:
        (own, other), (polar, manga), a = two_partitions(harness)
        harness.end(other)
        other = harness.open(1)
        assert own.epoch != other.epoch
        at_polar, _ = write(harness, "inscrire-polar-01", polar, seance.inscrire(polar, a))
        at_manga, _ = write(harness, "inscrire-manga-01", manga, seance.inscrire(manga, a))
        own.write_shared([(own, [at_polar]), (other, [at_manga])])
        rows = sql.execute("SELECT seance_id, epoch FROM inscriptions ORDER BY seance_id").fetchall()
        assert rows == [("manga", other.epoch), ("polar", own.epoch)]
        events = sql.execute("SELECT partition, epoch FROM events WHERE type = 'membre_inscrit' ORDER BY partition")
        assert events.fetchall() == [(0, own.epoch), (1, other.epoch)]
    finally:
        harness.close()


def test_the_lease_is_renewed_until_another_owner_takes_the_partition(seances):
    store = seances.open()
    store.renew()
    assert store.usable
    seances.take_over()
    with pytest.raises(ownership.FencedOut):
        store.renew()
    assert not store.usable


def test_membres_exist_or_not(seances):
    store = seances.open()
    (a,) = seances.add_membres(1)
    assert store.membre_exists(a) and not store.membre_exists(999_999)


def test_one_session_owns_the_shard_until_it_is_closed(seances):
    store = seances.open()
    assert store.usable
    with pytest.raises(Unavailable):
        seances.open()
    seances.end(store)
    assert not store.usable
    assert seances.open().usable


def test_timers_are_due_once_their_time_has_come(livres):
    store = livres.open()
    (a,) = livres.add_membres(1)
    added, livre = write(livres, "ajouter-lent-01", None, pret.ajouter("lent", "Lent"))
    lent, livre = write(livres, "emprunter-lent-01", livre, pret.emprunter(livre, a, 100.0, now=1_000_000.0))
    store.write([added, lent])
    assert store.due(1_000_050.0) == []
    assert store.due(1_000_101.0) == ["lent"]
    timer, _ = write(livres, None, livre, LIVRES.echoir(livre, 1_000_101.0))
    store.write([timer])
    assert store.due(1_000_101.0) == []
