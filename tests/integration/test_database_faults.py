"""The database's primary host lost whole, on simulated hosts (tests/fixtures/ha_hosts.py): three
database hosts (etcd, Patroni, PostgreSQL each, strict synchronous replication), a MonClub node,
a client host running the chaos drill's load (two clients: the two cores stay free for etcd and
Patroni, which must renew their keys on time).

Each fault hits every process of the primary's host: all killed (kill -9; then started again,
rejoining as a standby), all frozen (SIGSTOP; thawed once another primary served a commit), its
cable pulled (plugged back likewise). Nobody releases the leader key: it expires a ttl (20 s)
after its last renewal, and the synchronous standby takes it. Then the audit against the
clients' own outcomes (nothing acknowledged lost, nothing applied twice, no commit under a stale
epoch) and a clean `monclub verify`. The figure of each fault: from the fault to the first commit
the clients were answered after it, printed with the issue's targets, asserted against a looser
bound (FAULT_TO_COMMIT_MAX's why).

One database and one node for the module: each test starts from three members settled (the
previous fault's host rejoined and streaming, both standbys on the primary's timeline:
monclub.postgres.ha.rest.settled) and the primary's timeline where the last fault left it (no
failover without a fault), and ends with exactly one promotion more. Faulting the primary while a
standby is still being rewound or catching up would lose two of three hosts: with strict
synchronous replication the new primary then commits nothing until a standby streams again
(what made runs of this module wait out their clients' 60 s deadline before that check).
Where namespaces, etcd or Patroni are missing, the tests fail naming what to install."""

import statistics
import time
from collections.abc import Callable, Iterator

import pytest

from monclub.postgres.ha import layout, rest
from tests.fixtures.cluster import LoadRunner, all_answered, audited
from tests.fixtures.ha_hosts import HaHosts, ha_hosts
from tests.fixtures.waiting import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.netns, pytest.mark.pg, pytest.mark.daemon, pytest.mark.ha]

CLIENTS = 2
WARM_UP = 20  # acknowledged operations before the fault, and again after healing
IN_FLIGHT = 1.0  # s: an answer committed before the fault may still arrive this late
FAILOVER_TIMEOUT = 60.0
REJOIN_TIMEOUT = 120.0
TARGET_MEDIAN, TARGET_MAX = 25.0, 30.0  # the targets: printed against each run's figures
# What the test asserts: a fault answered within the ttl (20 s), Patroni's loops and its etcd
# client's retries (about 7 s), MonClub's bound on an answer (10 s) and a connect timeout (2 s).
# The cut misses TARGET_MAX in some runs (30.9 and 34.6 s measured, docs/database.md).
FAULT_TO_COMMIT_MAX = 45.0
FIGURES: dict[str, float] = {}


class Timeline:
    """The timeline the primary should be on: the database's at the start, one more per fault."""

    def __init__(self, ha: HaHosts):
        self.ha = ha
        self.expected = wait_for(ha.timeline, 60, "a primary", 0.5)

    def unchanged(self) -> None:
        assert self.ha.timeline() == self.expected, "a failover without a fault"

    def moved_once(self) -> None:
        self.expected += 1
        assert wait_for(self.ha.timeline, 60, "a primary", 0.5) == self.expected, "one promotion for one fault"


@pytest.fixture(scope="module")
def ha() -> Iterator[tuple[HaHosts, Timeline]]:
    with ha_hosts() as made:
        yield made, Timeline(made)
    if FIGURES:
        median, longest = statistics.median(FIGURES.values()), max(FIGURES.values())
        met = median <= TARGET_MEDIAN and longest <= TARGET_MAX
        print(f"from the fault to the next commit: {FIGURES}; median {median:.1f}s, max {longest:.1f}s: ", end="")
        print(f"the targets ({TARGET_MEDIAN:.0f}s, {TARGET_MAX:.0f}s) {'met' if met else 'missed'}")


def went_on(load: LoadRunner) -> None:
    """WARM_UP more acknowledged operations after healing, and every client answered since."""
    acknowledged = load.acknowledged()
    wait_for(lambda: load.acknowledged() >= acknowledged + WARM_UP, 60, "the load to go on", interval=0.2)
    load.ask("mark")
    all_answered(load)


def survive(ha: tuple[HaHosts, Timeline], fault: Callable[[layout.Member], None], heal, seed: int) -> float:
    """The load running, `fault` on the primary's host; another primary; a commit answered;
    `heal`; the host rejoined; the audit. The seconds from the fault to that commit."""
    hosts, timeline = ha
    wait_for(hosts.healthy, REJOIN_TIMEOUT, "three members, a primary and its synchronous standby", 0.5)
    timeline.unchanged()
    load = LoadRunner(hosts.client, clients=CLIENTS, seed=seed)
    try:
        wait_for(lambda: load.acknowledged() >= WARM_UP, 60, "the load to run", interval=0.2)
        before = hosts.primary()
        assert before is not None
        faulted = time.monotonic()
        fault(before)
        after = wait_for(lambda: (p := hosts.primary()) not in (None, before) and p, FAILOVER_TIMEOUT, "a primary")
        elected = time.monotonic()
        since = faulted + IN_FLIGHT
        committed = wait_for(lambda: load.ask("answered_after", since=since)["at"], 60, "a commit", interval=0.2)
        if committed - faulted > FAULT_TO_COMMIT_MAX:
            print(hosts.node.log_tails(80))  # where the time went, for the failure's reader
        heal(before)
        wait_for(hosts.healthy, REJOIN_TIMEOUT, f"{before.name} to rejoin as a standby", 0.5)
        went_on(load)
        report = audited(hosts.client, load)
    except AssertionError:
        print(hosts.node.log_tails(30), hosts.log_tails())  # what the node and the members went through
        raise
    finally:
        load.close()
    timeline.moved_once()
    print(
        f"{before.name}'s host: {after.name} seen primary {elected - faulted:.1f}s after the fault, the next commit "
        f"{committed - faulted:.1f}s; {sum(report['outcomes'].values())} outcomes, {report['retries']} retries, "
        f"{report['outcomes']}"
    )
    return committed - faulted


def test_the_primarys_host_killed_whole(ha):
    hosts, _ = ha
    FIGURES["killed"] = survive(ha, hosts.kill, hosts.revive, seed=41)
    assert FIGURES["killed"] <= FAULT_TO_COMMIT_MAX


def test_the_primarys_host_frozen(ha):
    hosts, _ = ha
    frozen: list[int] = []
    FIGURES["frozen"] = survive(
        ha, lambda member: frozen.extend(hosts.freeze(member)), lambda _: hosts.net.thaw(frozen), 42
    )
    assert FIGURES["frozen"] <= FAULT_TO_COMMIT_MAX


def test_the_primarys_host_cut_off(ha):
    hosts, _ = ha
    FIGURES["cut"] = survive(ha, hosts.cut, hosts.restore, seed=43)
    assert FIGURES["cut"] <= FAULT_TO_COMMIT_MAX


def test_a_split_network_acknowledges_nothing_on_the_old_primarys_side(ha):
    """The network parted in two: the primary's host, the first node and its clients on one
    switch; the two other database hosts (etcd's majority), a second node and its clients on the
    other. The first node keeps writing to the old primary, which can complete no commit (its
    synchronous standby is across the split), then demotes itself (it cannot renew its leader
    key); the other side elects a primary and serves. After the trunk is back the old primary
    rejoins as a standby (pg_rewind), and every answer either side's clients got is audited."""
    hosts, timeline = ha
    wait_for(hosts.healthy, REJOIN_TIMEOUT, "three members, a primary and its synchronous standby", 0.5)
    timeline.unchanged()
    far_node, far = hosts.second()
    near_load = LoadRunner(hosts.client, clients=CLIENTS, seed=44)
    far_load = LoadRunner(far, clients=CLIENTS, seed=45)
    try:
        for load in (near_load, far_load):
            wait_for(lambda load=load: load.acknowledged() >= WARM_UP, 60, "the load to run", interval=0.2)
        before = hosts.primary()
        assert before is not None
        near = [hosts.host(before), hosts.node.host, hosts.client.host]
        failed_before = sum(near_load.ask("progress")["failed"].values())
        split = time.monotonic()
        hosts.net.split([host for host in hosts.net.hosts.values() if host not in near])
        since = split + IN_FLIGHT

        def far_primary():
            found = hosts.ask(hosts.demo.primary, where=far.host)
            return found not in (None, before) and found

        after = wait_for(far_primary, FAILOVER_TIMEOUT, "a primary on the far side")
        served = wait_for(lambda: far_load.ask("answered_after", since=since)["at"], 60, "a commit", interval=0.2)
        wait_for(
            lambda: hosts.ask(rest.primary, [before.rest_url]) is None,
            FAILOVER_TIMEOUT,
            f"{before.name} to stop taking writes (it cannot renew its leader key)",
        )
        wait_for(
            lambda: sum(near_load.ask("progress")["failed"].values()) > failed_before,
            FAILOVER_TIMEOUT,
            "the near side's calls to end unacknowledged",
            interval=0.5,
        )
        near_answered = near_load.ask("answered_after", since=since)["at"]
        assert near_answered is None, f"the old primary's side acknowledged at {near_answered - split:.1f}s"
        hosts.net.join()
        wait_for(hosts.healthy, REJOIN_TIMEOUT, f"{before.name} to rejoin as a standby", 0.5)
        everyone = hosts.ask(rest.members, hosts.demo.rest_urls)
        roles = {member.name: member.role for member in everyone}
        assert roles[before.name] == "replica" and roles[after.name] == "primary", roles
        for load in (near_load, far_load):
            went_on(load)
        far_load.ask("halt")  # the near load's audit needs a quiet database: every listener caught up
        reports = [audited(place, load) for place, load in ((hosts.client, near_load), (far, far_load))]
    except AssertionError:
        print(hosts.node.log_tails(30), far_node.log_tails(30))
        raise
    finally:
        near_load.close()
        far_load.close()
    timeline.moved_once()
    print(
        f"split: {after.name} primary on the far side {served - split:.1f}s after the split served a commit; "
        f"the near side acknowledged nothing; outcomes near {reports[0]['outcomes']}, far {reports[1]['outcomes']}"
    )
