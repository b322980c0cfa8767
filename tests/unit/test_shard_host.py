"""The shard host on the in-memory store double: each request reaches the owner of its partition,
a batch split across partitions keeps its order, a partition hosted elsewhere is answered
`wrong_owner` naming the owner the directory knows, `ping` and `directory` are the process's, and
the partitions hosted follow the assignment, handing over a bounded number at a time, and those
not owned are taken together, a restarted host's while it reads the assignment."""

import os
import threading
from functools import partial

from monclub.cluster.partition import partition_of
from monclub.contract import protocol
from monclub.reunions.domain import Seances
from monclub.reunions.ops import OPS
from monclub.shards.host import ShardHost
from monclub.shards.owner import Owner
from tests.fixtures.memory_store import MemoryDatabase

PARTITIONS = 4


class FixedDirectory:
    def __init__(self, entries: list[dict]):
        self.listed = entries

    def entries(self) -> list[dict]:
        return self.listed

    def owner_of(self, partition: int) -> dict | None:
        return next((entry for entry in self.listed if entry["partition"] == partition), None)

    def close(self) -> None:
        pass


def seance_in(partition: int) -> str:
    return next(f"s{i}" for i in range(1000) if partition_of(f"s{i}", PARTITIONS) == partition)


def ask(request_id: str, op: str, **fields) -> protocol.Request:
    return OPS.parse(protocol.request(request_id, op, **fields))


def creer(seance: str) -> protocol.Request:
    return ask(f"creer-{seance}-0001", "creer", seance=seance, titre="T", places=1, attente=0, tarif=0)


ENDPOINT = "ipc:///run/reunions-0.sock"


class Meeting:
    """Where the sessions opened (and, while `assignment`, the reads of the assignment) wait for
    one another, while `barrier` is set: they get past it only if that many run at once."""

    barrier: threading.Barrier | None = None
    assignment = True


def met(meeting: Meeting | None, then, assignment: bool = False):
    if meeting is not None and meeting.barrier is not None and (meeting.assignment or not assignment):
        meeting.barrier.wait()
    return then()


def host(
    hosted: list[int],
    directory: list[dict] | None = None,
    assigned: set[int] | None = None,
    meeting: Meeting | None = None,
) -> tuple[ShardHost, dict[int, MemoryDatabase]]:
    """A host of `hosted` at first; `assigned` (changed in place by a test) is what it should host,
    unknown when None; each session opened and each read of the assignment waits at `meeting`."""
    databases = {partition: MemoryDatabase(Seances(), membres=range(1, 5)) for partition in range(PARTITIONS)}

    def make_owner(partition: int) -> Owner:
        return Owner(Seances(), partition, partial(met, meeting, databases[partition].open))

    def assignment() -> set[int] | None:
        return met(meeting, lambda: None if assigned is None else set(assigned), assignment=True)

    shard = ShardHost(
        Seances(),
        "reunions/shard-0",
        ENDPOINT,
        PARTITIONS,
        make_owner,
        assignment,
        FixedDirectory(directory or []),
        hosted,
    )
    return shard, databases


def owned(shard: ShardHost) -> list[int]:
    return sorted(partition for partition, owner in shard.owners.items() if owner.owning)


def test_each_command_reaches_the_owner_of_its_partition_and_replies_keep_their_order():
    shard, databases = host([0, 2])
    a, b = seance_in(0), seance_in(2)
    requests = [
        creer(a),
        creer(b),
        ask("inscrire-b-0001", "inscrire", seance=b, membre=1),
        ask("e-a-00001", "etat", seance=a),
    ]
    replies = shard.handle_batch(requests)
    assert [reply["id"] for reply in replies] == [request.id for request in requests]
    assert all(reply["ok"] for reply in replies)
    assert set(databases[0].states) == {a} and set(databases[2].states) == {b}
    assert replies[3]["result"]["inscrits"] == []


def test_a_partition_hosted_elsewhere_is_answered_wrong_owner_naming_the_owner():
    owner = {
        "partition": 1,
        "endpoint": "tcp://10.0.0.2:7101",
        "node": "b",
        "pid": 7,
        "shard": "x",
        "epoch": 3,
        "lease_left": 1.0,
    }
    shard, databases = host([0, 2], [owner])
    reply = shard.handle(creer(seance_in(1)))
    assert reply["error"]["code"] == "wrong_owner"
    assert reply["error"]["owner"] == owner
    assert "tcp://10.0.0.2:7101" in reply["error"]["message"]
    assert not any(database.states for database in databases.values()), "nothing applied"
    assert databases[1].session is None, "no owner was made for a partition not hosted"
    unknown = shard.handle(creer(seance_in(3)))
    assert unknown["error"]["code"] == "wrong_owner" and unknown["error"]["owner"] is None


def test_ping_lists_the_hosted_partitions_with_their_epochs():
    shard, _ = host([0, 2])
    shard.handle(creer(seance_in(2)))
    assert owned(shard) == [2], "an owner takes its partition on its first request (or tick)"
    answer = shard.handle(ask("ping-00001", "ping"))["result"]
    assert answer["shard"] == "reunions/shard-0" and answer["waiting"] is None
    assert [(p["partition"], p["epoch"]) for p in answer["partitions"]] == [(0, None), (2, 1)]
    assert answer["handled"] == 1 and answer["loaded"] == 1
    assert answer["compiled"] is (os.environ.get("MONCLUB_COMPILED") == "1"), "which build answers"


def test_directory_answers_the_partition_count_and_the_owners():
    entries = [
        {"partition": 0, "endpoint": "ipc:///x", "node": "a", "pid": 1, "shard": "y", "epoch": 1, "lease_left": 1.0}
    ]
    shard, _ = host([0], entries)
    answer = shard.handle(ask("dir-000001", "directory"))["result"]
    assert answer == {"branch": "reunions", "partitions": PARTITIONS, "owners": entries}


def test_the_host_takes_what_it_is_assigned_and_hands_over_one_owned_partition_per_tick():
    assigned = {0, 1, 2, 3}
    shard, databases = host([0, 2], assigned=assigned)
    shard.tick()
    assert owned(shard) == [0, 1, 2, 3]
    assigned.clear()
    shard.tick()
    assert owned(shard) == [1, 2, 3] and databases[0].released == 1
    shard.tick()
    assert owned(shard) == [2, 3]
    shard.handle(creer(seance_in(3)))
    assert databases[3].states, "a partition still owned while others move answers as before"
    assigned.add(0)
    shard.tick()
    assert owned(shard) == [0, 3], "taken back at once (its lease was handed over)"


def test_a_restarted_host_takes_its_partitions_together_while_it_reads_the_assignment():
    meeting = Meeting()
    meeting.barrier = threading.Barrier(3, timeout=5)  # the two sessions and the assignment, at once
    shard, databases = host([0, 2], assigned={0, 2}, meeting=meeting)
    shard.tick()
    assert owned(shard) == [0, 2]
    databases[0].session.lost = databases[2].session.lost = True
    meeting.barrier, meeting.assignment = threading.Barrier(2, timeout=5), False
    shard.tick()
    assert owned(shard) == [0, 2], "partitions lost later are taken together too"


def test_an_unknown_assignment_keeps_what_the_host_has():
    shard, _ = host([0, 2], assigned=None)
    shard.tick()
    assert owned(shard) == [0, 2]


def test_an_owner_not_owning_yet_sends_the_client_to_the_process_that_holds_the_lease():
    holder = {
        "partition": 2,
        "endpoint": "tcp://10.0.0.3:7100",
        "node": "c",
        "pid": 9,
        "shard": "x",
        "epoch": 4,
        "lease_left": 1.5,
    }
    shard, databases = host([0, 2], [holder])
    databases[2].session = databases[2].open()  # another process's live session owns partition 2
    reply = shard.handle(creer(seance_in(2)))
    assert reply["error"]["code"] == "wrong_owner" and reply["error"]["owner"] == holder
    holder["lease_left"] = 0.0
    assert shard.handle(creer(seance_in(2)))["error"]["code"] == "unavailable", "no lease: nobody to send it to"


def test_close_hands_every_owned_partition_over():
    shard, databases = host([0, 2])
    shard.tick()
    shard.close()
    assert databases[0].released == databases[2].released == 1 and not shard.owners


class CountingWaker:
    def __init__(self) -> None:
        self.wakes = 0

    def wake(self) -> None:
        self.wakes += 1

    def close(self) -> None:
        pass


def test_the_relay_is_woken_once_per_batch_that_committed_events_and_only_after_its_replies():
    shard, _ = host([0, 2])
    shard.waker = waker = CountingWaker()
    shard.handle_batch([creer(seance_in(0)), creer(seance_in(2))])
    assert waker.wakes == 0, "woken before the replies were sent"
    shard.after_replies()
    shard.after_replies()
    assert waker.wakes == 1
    shard.handle_batch([ask("e-a-00001", "etat", seance=seance_in(0))])
    shard.after_replies()
    assert waker.wakes == 1, "a query commits no event"
