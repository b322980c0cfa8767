"""The assignment of partitions to nodes (rendezvous hashing) and to a node's processes."""

from monclub.cluster.membership import assigned_node, wanted

NODES = ["a", "b", "c"]


def test_every_partition_goes_to_one_live_node_and_each_node_gets_some():
    owners = [assigned_node("reunions", p, NODES) for p in range(64)]
    assert set(owners) == set(NODES)
    assert min(owners.count(node) for node in NODES) >= 10
    assert assigned_node("reunions", 0, []) is None


def test_a_node_leaving_moves_only_its_own_partitions():
    before = {p: assigned_node("reunions", p, NODES) for p in range(64)}
    after = {p: assigned_node("reunions", p, ["a", "b"]) for p in range(64)}
    assert {p for p in before if before[p] != after[p]} == {p for p in before if before[p] == "c"}


def test_the_processes_of_a_node_share_its_partitions_by_partition_mod_n():
    mine = [wanted("reunions", 16, 4, i, "a", ["a"]) for i in range(4)]
    assert mine == [{i, i + 4, i + 8, i + 12} for i in range(4)]
    split = set().union(*(wanted("reunions", 16, 2, i, node, NODES) for i in range(2) for node in NODES))
    assert split == set(range(16))
