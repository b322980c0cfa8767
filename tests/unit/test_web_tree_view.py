"""The tree page's words, from a state as TreeWatch sends it: pure, without a tree."""

from datetime import UTC

from monclub.web import tree_view


def test_a_place_down_then_back_and_its_time_down():
    down = {"down": {"pid": 42, "since": 0.042, "exact": True}}
    assert tree_view.down_or_back(down, UTC) == "down since 00:00:00.042"
    seen = {"down": {"pid": 42, "since": 1.5, "exact": False}}
    assert tree_view.down_or_back(seen, UTC) == "down since 00:00:01.500 (seen by a read)"
    assert tree_view.down_or_back({"back_ms": 180}, UTC) == "back in 180 ms"
    assert tree_view.down_or_back({}, UTC) is None
    assert tree_view.time_down({"down_ms": 420, "exact": False}) == "within 420 ms (seen by the reads)"


def test_a_shards_load_and_the_partitions_a_node_owns():
    assert tree_view.load({"loaded": 3, "handled": 10}) == "loaded 3, handled 10"
    assert tree_view.load({"loaded": 3, "handled": 10, "commits": 4, "batch_mean": 2.5}).endswith(
        ", 4 commits of 2.5 on average"
    )
    assert tree_view.load({"url": "http://127.0.0.1:1/"}) == "http://127.0.0.1:1/"
    assert tree_view.ranges([8, 0, 1, 2, 3, 5, 7]) == "0-3 5 7-8"
    owners = [{"partition": p, "node": "vm" if p != 2 else "other", "lease_left": 1.0} for p in range(4)]
    cluster = {"partitions": {"reunions": owners, "prets": [{"partition": 0, "node": "vm", "lease_left": 0}]}}
    assert tree_view.owned(cluster, "vm") == "reunions 0-1 3"
    assert tree_view.owned(cluster, "nobody") == "none"


def test_rows_put_a_branchs_shards_under_it():
    reunions = {"name": "reunions", "children": [{"name": "shard-0"}]}
    state = {"programs": [{"name": "relay", "state": "running"}, reunions]}
    assert [(row["place"], row["depth"]) for row in tree_view.rows(state)] == [
        ("relay", 0),
        ("reunions", 0),
        ("reunions/shard-0", 1),
    ]
