"""Several nodes on one host sharing one database (each its own state directory, node name and
sockets): the partitions split between the live nodes as the assignment says, a client of either
node reaches every séance by following redirects, a node killed whole loses its partitions to the
other within seconds, and a drained node hands them over with no failed request."""

import json
import os
import signal
import subprocess
import sys

import pytest

from monclub.cluster.membership import assigned_node
from monclub.cluster.partition import partition_of
from tests.fixtures.postgres import add_membres
from tests.fixtures.processes import monclub_env, run_monclub
from tests.fixtures.registrations import Registrations
from tests.fixtures.waiting import wait_for

OWNERS = """
SELECT partition, owner_host FROM partitions
WHERE branch = 'reunions' AND endpoint IS NOT NULL AND lease_until > now() ORDER BY partition
"""


def start_node(start_reunions, state_dirs, name: str):
    return start_reunions(home=state_dirs(), config=f'[cluster]\nnode = "{name}"\n')


def owners(sql) -> dict[int, str]:
    return dict(sql.execute(OWNERS).fetchall())


def split_as_assigned(sql, nodes: list[str], partitions: int = 16) -> bool:
    return owners(sql) == {p: assigned_node("reunions", p, nodes) for p in range(partitions)}


def test_two_nodes_split_the_partitions_and_a_client_of_either_reaches_every_seance(start_reunions, state_dirs, sql):
    a = start_node(start_reunions, state_dirs, "a")
    wait_for(lambda: split_as_assigned(sql, ["a"]), 30, "node a to own every partition")
    b = start_node(start_reunions, state_dirs, "b")
    wait_for(lambda: split_as_assigned(sql, ["a", "b"]), 30, "the partitions to split between a and b")
    assert set(owners(sql).values()) == {"a", "b"}
    seances = [f"s{i}" for i in range(24)]
    with a.client() as on_a, b.client() as on_b:
        for seance in seances:
            on_a.creer(seance, "Polar", places=2)
        assert [on_b.etat(seance)["places"] for seance in seances] == [2] * 24
        assert on_a.redirects and on_b.redirects, "each was sent to the other node for its partitions"
    shown = run_monclub(a.env, "status", "--cluster", "--json", timeout=60)
    seen = json.loads(shown.stdout)["cluster"]
    assert [(n["node"], n["live"], n["draining"]) for n in seen["nodes"]] == [("a", True, False), ("b", True, False)]
    assert sum(n["owns"] for n in seen["nodes"]) == 16
    listed = {o["partition"]: o["node"] for o in seen["partitions"]["reunions"]}
    assert listed == {p: assigned_node("reunions", p, ["a", "b"]) for p in range(16)}
    assert len(seen["moves"]) >= 16, "every acquisition of the last minute"
    assert seen["moving"] == []
    text = run_monclub(a.env, "status", "--cluster", timeout=60).stdout
    assert "cluster: 2 nodes" in text and "reunions partitions:" in text


def kill_node(reunions) -> None:
    """kill -9 of every process of the node at once."""
    pids = [reunions.process.pid, *filter(None, reunions.shard_pids().values())]
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    reunions.process.wait()


def test_a_node_killed_whole_loses_its_partitions_to_the_other_within_seconds(start_reunions, state_dirs, sql):
    a = start_node(start_reunions, state_dirs, "a")
    b = start_node(start_reunions, state_dirs, "b")
    wait_for(lambda: split_as_assigned(sql, ["a", "b"]), 30, "the partitions to split")
    lost = [p for p, node in owners(sql).items() if node == "b"]
    kill_node(b)
    wait_for(lambda: split_as_assigned(sql, ["a"]), 20, "node a to take node b's partitions")
    seance = next(f"s{i}" for i in range(200) if partition_of(f"s{i}", 16) in lost)
    with a.client() as client:
        assert client.creer(seance, "Polar", places=2)["seance"]["places"] == 2


def test_a_drained_node_hands_its_partitions_over_with_no_failed_request(start_reunions, state_dirs, sql):
    a = start_node(start_reunions, state_dirs, "a")
    start_node(start_reunions, state_dirs, "b")
    wait_for(lambda: split_as_assigned(sql, ["a", "b"]), 30, "the partitions to split")
    with Registrations(a.config, [f"s{i}" for i in range(16)], add_membres(sql, 200)) as load:
        drained = run_monclub(a.env, "node", "drain", "--node", "b", "--timeout", "30", timeout=60)
    assert drained.returncode == 0, drained.stderr
    assert "b drained: its partitions moved to a" in drained.stdout
    assert split_as_assigned(sql, ["a"])
    assert load.failures == []
    assert sql.execute("SELECT count(*) FROM inscriptions").fetchone()[0] == len(load.done)
    listed = json.loads(run_monclub(a.env, "node", "liste", "--json").stdout)
    assert {n["node"]: n["draining"] for n in listed} == {"a": False, "b": True}
    joined = run_monclub(a.env, "node", "join", "--node", "b")
    assert joined.returncode == 0 and joined.stdout == "b joins: it takes its share of the partitions\n", joined.stderr
    assert sql.execute("SELECT draining FROM nodes WHERE node = 'b'").fetchone() == (False,), "written by node join"


RELAY = "SELECT owner_host, epoch FROM partitions WHERE branch = 'relay' AND lease_until > now()"


@pytest.mark.daemon  # two relays, started here
def test_one_relay_runs_in_the_cluster_the_others_stand_by_and_one_takes_over(database, state_dirs, sql, tmp_path):
    relays = {}
    for node in ("a", "b"):
        env = {**monclub_env(state_dirs(), database, 2), "MONCLUB_NODE": node}
        with (tmp_path / f"relay-{node}.log").open("wb") as log:
            relays[node] = subprocess.Popen([sys.executable, "-m", "monclub.events.relay"], env=env, stderr=log)
    try:
        holder, epoch = wait_for(lambda: sql.execute(RELAY).fetchone(), 20, "a relay to hold the lease")
        other = "b" if holder == "a" else "a"
        wait_for(lambda: "standing by" in (tmp_path / f"relay-{other}.log").read_text(), 20, "the other to stand by")
        relays[holder].kill()
        relays[holder].wait()
        taken = wait_for(lambda: (row := sql.execute(RELAY).fetchone()) and row[0] == other and row, 20, "a take-over")
        assert taken == (other, epoch + 1)
        shown = run_monclub(monclub_env(state_dirs(), database, 2), "status", "--cluster", "--json", timeout=60)
        relay = json.loads(shown.stdout)["cluster"]["relay"]
        assert (relay["node"], relay["epoch"], relay["pid"]) == (other, epoch + 1, relays[other].pid)
        relays[other].terminate()
        assert relays[other].wait(timeout=20) == 0
        released = "SELECT owner_pid, endpoint, lease_until FROM partitions WHERE branch = 'relay'"
        assert sql.execute(released).fetchone() == (None, None, None), "a relay stopped hands its lease over"
    finally:
        for relay in relays.values():
            relay.kill()
            relay.wait()
