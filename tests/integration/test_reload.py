"""`monclub reload` under load: every shard process is replaced, one at a time, by a fresh process
running the code on disk, through the hand-over; no request fails, none is applied twice."""

from tests.fixtures.postgres import add_membres
from tests.fixtures.processes import run_monclub
from tests.fixtures.registrations import Registrations


def test_reload_under_load_replaces_every_shard_with_no_failed_request(reunions, sql):
    before = reunions.shard_pids()
    with Registrations(reunions.config, [f"s{i}" for i in range(8)], add_membres(sql, 400)) as load:
        reloaded = run_monclub(reunions.env, "reload", "--branch", "reunions", timeout=120)
        at_reload_end = len(load.done)
    assert reloaded.returncode == 0, reloaded.stderr
    assert "reloaded 2 shard processes" in reloaded.stdout
    after = reunions.shard_pids()
    assert set(after.values()).isdisjoint(before.values()), "every shard process was replaced"
    assert all(child["fresh"] for child in reunions.status()["children"]), "started by exec: the code on disk"
    assert load.failures == []
    assert at_reload_end > 20, "the load ran during the reload"
    assert sql.execute("SELECT count(*) FROM inscriptions").fetchone()[0] == len(load.done)
