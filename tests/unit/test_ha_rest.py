"""When Patroni's cluster may take a fault of its primary: monclub.postgres.ha.rest.settled."""

import pytest

from monclub.postgres.ha import rest


def cluster(*members: tuple[str, str, int]) -> dict:
    return {
        "members": [{"name": f"pg{i}", "role": r, "state": s, "timeline": t} for i, (r, s, t) in enumerate(members)]
    }


SETTLED = (("leader", "running", 3), ("sync_standby", "streaming", 3), ("replica", "streaming", 3))


def test_a_primary_with_both_standbys_streaming_on_its_timeline_is_settled():
    assert rest.settled(cluster(*SETTLED), 3)


@pytest.mark.parametrize(
    "members, why",
    [
        ((SETTLED[0], SETTLED[1], ("replica", "running", 3)), "a standby up but not streaming (rewound, catching up)"),
        ((SETTLED[0], SETTLED[1], ("replica", "streaming", 2)), "a standby still on the old timeline"),
        ((SETTLED[0], SETTLED[1], ("replica", "starting", 3)), "a standby starting"),
        ((SETTLED[0], ("replica", "streaming", 3), SETTLED[2]), "no synchronous standby"),
        ((("leader", "starting", 3), SETTLED[1], SETTLED[2]), "a primary not running yet"),
        ((SETTLED[0], SETTLED[1]), "a member missing"),
        ((SETTLED[1], SETTLED[2], ("replica", "streaming", 3)), "no primary"),
    ],
)
def test_anything_less_is_not_settled(members, why):
    assert not rest.settled(cluster(*members), 3), why


def test_a_member_that_reports_no_timeline_is_judged_by_its_state():
    found = cluster(*SETTLED)
    del found["members"][2]["timeline"]
    assert rest.settled(found, 3)
    assert not rest.settled({}, 3)


def test_the_demo_is_ready_for_a_fault_only_when_every_patroni_says_it_is_settled(monkeypatch):
    views = {"http://a": cluster(*SETTLED), "http://b": cluster(*SETTLED), "http://c": cluster(*SETTLED)}

    def get(url: str) -> tuple[int, dict]:
        base = url.removesuffix("/cluster")
        if base not in views:
            raise OSError("connection refused")
        return 200, views[base]

    monkeypatch.setattr(rest, "get", get)
    assert rest.ready(list(views), 3)
    views["http://b"] = cluster(SETTLED[0], SETTLED[1], ("replica", "running", 3))  # its view lags
    assert not rest.ready(list(views), 3)
    assert not rest.ready(["http://a", "http://gone"], 3), "one that does not answer"
