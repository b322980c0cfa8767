"""Passivation on the in-memory store double, with a clock the test moves: a shard process unloads
the aggregates idle for `idle` seconds and keeps at most `max_loaded` over all its partitions,
least recently used out first; the next command loads the aggregate again from the store, never
decides on what was unloaded; the membres it knows are bounded the same way, the timers of an
unloaded copy still fire, and the set-aside timers are forgotten once their time has passed."""

from monclub.cluster.partition import partition_of
from monclub.contract import protocol
from monclub.reunions.domain import Seances
from monclub.reunions.seance import liste_inscrits
from monclub.shards.host import ShardHost
from monclub.shards.memory import Residency
from monclub.shards.owner import Owner
from monclub.shards.stats import Stats
from monclub.shards.timers import TIMER_BACKOFF
from tests.fixtures.memory_store import MemoryDatabase
from tests.unit.test_owner_failures import LIVRES, NOW, Monotonic, ask, lent, statut
from tests.unit.test_shard_host import ENDPOINT, PARTITIONS, FixedDirectory, seance_in

IDLE = 60.0


def creer(seance: str, places: int = 5) -> protocol.Request:
    return ask(f"creer-{seance}", "creer", seance=seance, titre=seance, places=places, attente=0, tarif=0)


def etat(seance: str, tag: str = "1") -> protocol.Request:
    return ask(f"etat-{seance}-{tag}", "etat", seance=seance)


def inscrire(seance: str, membre: int) -> protocol.Request:
    return ask(f"inscrire-{seance}-{membre}", "inscrire", seance=seance, membre=membre)


class Process:
    """A shard process of partitions 0 and 2 sharing one residency, on a clock the test moves."""

    def __init__(self, max_loaded: int):
        self.clock = Monotonic()
        self.stats = Stats()
        self.residency = Residency(max_loaded, IDLE, self.clock, self.stats.unloaded)
        self.databases = {p: MemoryDatabase(Seances(), membres=range(1, 10)) for p in range(PARTITIONS)}

        def make_owner(partition: int) -> Owner:
            database = self.databases[partition]
            return Owner(Seances(), partition, database.open, monotonic=self.clock, residency=self.residency)

        directory = FixedDirectory([])
        self.host = ShardHost(
            Seances(), "reunions/shard-0", ENDPOINT, PARTITIONS, make_owner, lambda: None, directory, [0, 2],
            self.stats, None, self.residency,
        )  # fmt: skip

    def loaded(self, partition: int) -> set[str]:
        return set(self.host.owners[partition].memory.aggregates.entries)

    def ping(self) -> dict:
        return self.host.handle(ask("ping-0001", "ping"))["result"]


A, B = seance_in(0), seance_in(2)
A2 = next(f"s{i}" for i in range(1000) if f"s{i}" != A and partition_of(f"s{i}", PARTITIONS) == 0)


def test_an_aggregate_idle_for_longer_than_idle_is_unloaded_at_the_next_tick():
    process = Process(max_loaded=100)
    assert all(reply["ok"] for reply in process.host.handle_batch([creer(A), creer(B)]))
    process.clock.now += IDLE / 2
    assert process.host.handle(etat(A))["ok"]
    process.clock.now += IDLE / 2 + 1
    process.host.tick()
    assert process.loaded(0) == {A} and process.loaded(2) == set(), "B idle for longer than idle, A not"
    process.clock.now += IDLE
    process.host.tick()
    assert process.loaded(0) == set()
    assert process.ping()["loaded"] == 0 and process.ping()["stats"]["unloaded"] == {"idle": 2, "max_loaded": 0}


def test_at_most_max_loaded_per_process_the_least_recently_used_out_first_over_all_partitions():
    process = Process(max_loaded=2)
    assert all(reply["ok"] for reply in process.host.handle_batch([creer(A), creer(B)]))
    process.clock.now += 1
    assert process.host.handle(etat(A))["ok"], "A used after B"
    process.clock.now += 1
    assert process.host.handle(creer(A2))["ok"]
    assert process.loaded(0) == {A, A2} and process.loaded(2) == set(), "B, of another partition, was the oldest"
    assert process.ping()["loaded"] == 2 and process.stats.unloaded["max_loaded"] == 1


def test_an_unloaded_aggregate_is_loaded_again_by_its_next_command_never_decided_from_memory():
    process = Process(max_loaded=1)
    assert process.host.handle(creer(A, places=1))["ok"]
    assert statut(process.host.handle(inscrire(A, 1))) == "inscrit"
    assert process.host.handle(creer(A2))["ok"]
    assert process.loaded(0) == {A2}, "A unloaded"
    process.databases[0].fail("load_all")
    assert statut(process.host.handle(inscrire(A, 2))) == "unavailable", "the command went to the store for A"
    assert statut(process.host.handle(inscrire(A, 2))) == "seance_complete", "decided on A as stored: 1 inscrit"
    assert process.host.handle(etat(A))["result"]["inscrits"] == [1]
    owner = process.host.owners[0]
    assert owner.memory.aggregates.peek(A) == process.databases[0].states[A]


def test_a_batch_larger_than_max_loaded_decides_each_command_on_the_state_its_earlier_ones_left():
    process = Process(max_loaded=1)
    assert all(reply["ok"] for reply in process.host.handle_batch([creer(A, places=1), creer(A2, places=1)]))
    replies = process.host.handle_batch([inscrire(A, 1), inscrire(A2, 1), inscrire(A, 2), inscrire(A2, 2)])
    assert [statut(reply) for reply in replies] == ["inscrit", "inscrit", "seance_complete", "seance_complete"]
    states = process.databases[0].states
    assert liste_inscrits(states[A]) == (1,) and liste_inscrits(states[A2]) == (1,)
    assert len(process.host.owners[0].memory.aggregates) == 1


def test_the_membres_an_owner_knows_are_bounded_too():
    process = Process(max_loaded=2)
    assert process.host.handle(creer(A))["ok"]
    owner = process.host.owners[0]
    for membre in (1, 2, 3):
        assert owner.membres.exists(membre)
    assert set(owner.memory.membres.entries) == {2, 3}
    process.clock.now += IDLE + 1
    process.host.tick()
    assert len(owner.memory.membres) == 0


def test_a_partition_handed_over_leaves_the_process_budget():
    process = Process(max_loaded=2)
    assert all(reply["ok"] for reply in process.host.handle_batch([creer(A), creer(B)]))
    process.host.owners.pop(2).release()
    assert process.residency.aggregates.count == 1
    assert process.host.handle(creer(A2))["ok"]
    assert process.loaded(0) == {A, A2}, "nothing unloaded for a partition no longer hosted"


def test_an_unloaded_copy_still_gets_its_reminders_from_the_store_once_each():
    clock, monotonic = [NOW], Monotonic()
    residency = Residency(100, IDLE, monotonic)
    owner, db = lent(clock, monotonic=monotonic, residency=residency)
    monotonic.now += IDLE + 1
    residency.sweep()
    assert len(owner.memory.aggregates) == 0
    clock[0] = NOW + 2 * 86400
    owner.tick()
    owner.tick()
    assert [kind for kind, _, _ in db.outbox].count("pret_en_retard") == 1


class Failing:
    """A loan domain whose reminders fail `times` times (a bug in one copy's state)."""

    def __init__(self, times: int):
        self.times = times

    def __getattr__(self, name):
        return getattr(LIVRES, name)

    def echoir(self, livre, now):
        if self.times:
            self.times -= 1
            raise RuntimeError("a bug in this copy's reminders")
        return LIVRES.echoir(livre, now)


def test_a_failing_timer_is_set_aside_then_forgotten_once_its_time_has_passed():
    clock = [NOW]
    owner, db = lent(clock, Failing(1))
    clock[0] = NOW + 2 * 86400
    owner.tick()
    assert owner.timers.set_aside == {"lent": clock[0] + TIMER_BACKOFF}
    clock[0] += TIMER_BACKOFF + 1
    owner.tick()
    assert owner.timers.set_aside == {} and [kind for kind, _, _ in db.outbox].count("pret_en_retard") == 1
