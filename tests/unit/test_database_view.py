"""The database's hosts as status, the tree page and /metrics show them (monclub.tree.database):
a standby's lag from the two WAL positions, which standby is synchronous from the primary's
senders, Patroni's /cluster beside what PostgreSQL says, and the text and metrics drawn from it."""

from types import SimpleNamespace

from monclub.db import servers
from monclub.tree import database
from monclub.web.metrics import database_families

PRIMARY = {"role": "primary", "lsn": "1/00000100", "timeline": 3, "senders": [("pg1", "sync"), ("pg2", "async")]}

CLUSTER = {
    "members": [
        {"name": "pg0", "role": "leader", "state": "running", "host": "127.0.0.1", "port": 15403, "timeline": 3},
        {"name": "pg1", "role": "sync_standby", "state": "streaming", "host": "127.0.0.1", "port": 15413, "lag": 0},
        {"name": "pg2", "role": "replica", "state": "streaming", "host": "127.0.0.1", "port": 15423, "lag": "unknown"},
    ]
}


def _standby(name: str | None, lsn: str = "0/FFFFFF00") -> dict:
    return {"role": "standby", "lsn": lsn, "timeline": 3, "name": name}


def test_a_standbys_lag_is_the_primarys_wal_position_less_its_replayed_one():
    assert servers._entry(_standby("pg1"), PRIMARY)["lag_bytes"] == 0x1_0000_0100 - 0xFFFFFF00
    assert servers._entry(_standby("pg1", "1/00000200"), PRIMARY)["lag_bytes"] == 0, "read a moment later"
    assert servers._entry(_standby("pg1"), None)["lag_bytes"] is None, "no primary answered"


def test_the_synchronous_standby_is_the_one_the_primarys_senders_call_so():
    assert servers._entry(_standby("pg1"), PRIMARY)["sync"] is True
    assert servers._entry(_standby("pg2"), PRIMARY)["sync"] is False
    assert servers._entry(_standby(None), PRIMARY)["sync"] is None, "its receiver hidden from this role"
    hidden = {**PRIMARY, "senders": []}
    assert servers._entry(_standby("pg1"), hidden)["sync"] is None, "the primary's senders hidden from this role"
    assert servers._entry(PRIMARY, PRIMARY) == {"role": "primary", "sync": None, "lag_bytes": None, "timeline": 3}


def _hosts(monkeypatch, read: list[dict], answer=(200, CLUSTER)) -> list[dict]:
    monkeypatch.setattr(servers, "read", lambda conninfo, timeout: read)
    monkeypatch.setattr(database.rest, "get", lambda url, timeout: answer)
    config = SimpleNamespace(conninfo=lambda: "", patroni_urls=("http://127.0.0.1:15402",))
    return database.hosts(config)


def _read() -> list[dict]:
    entry = {"sync": None, "lag_bytes": 0, "timeline": 3}
    return [
        {"server": "127.0.0.1:15403", **entry, "role": "primary", "lag_bytes": None},
        {"server": "127.0.0.1:15413", **entry, "role": "standby"},
        {"server": "127.0.0.1:15423", **entry, "role": "standby", "lag_bytes": 4096},
    ]


def test_patroni_says_which_standby_is_synchronous_when_postgresql_hides_it(monkeypatch):
    found = _hosts(monkeypatch, _read())
    assert [entry["sync"] for entry in found] == [None, True, False]
    assert [entry["patroni"]["role"] for entry in found] == ["leader", "sync_standby", "replica"]
    assert found[2]["patroni"]["lag_bytes"] is None, "Patroni's 'unknown'"


def test_without_an_answer_from_patroni_postgresql_alone_is_shown(monkeypatch):
    found = _hosts(monkeypatch, _read(), answer=(503, {}))
    assert [entry["patroni"] for entry in found] == [None, None, None]
    assert [entry["sync"] for entry in found] == [None, None, None]


def test_the_status_lines_say_role_synchronous_lag_timeline_and_patroni(monkeypatch):
    lines = database.render(_hosts(monkeypatch, _read()))
    assert lines[0] == "database"
    assert lines[1].split() == ["127.0.0.1:15403", "primary", "timeline", "3", "Patroni:", "pg0", "leader", "running"]
    assert "standby      synchronous  lag 0 B  timeline 3  Patroni: pg1 sync_standby streaming" in lines[2]
    assert "asynchronous  lag 4096 B" in lines[3]


def test_one_embedded_server_is_one_line_and_an_unreachable_one_says_so():
    alone = [{"server": "/run/monclub:5432", "role": "primary", "sync": None, "lag_bytes": None, "timeline": 1}]
    assert database.render(alone) == ["database", "  /run/monclub:5432     primary      timeline 1"]
    silent = {"server": "db2:5432", "role": "unreachable", "sync": None, "lag_bytes": None, "timeline": None}
    assert database.render([silent])[1].split() == ["db2:5432", "unreachable"]


def test_metrics_carry_each_servers_role_lag_timeline_and_patronis_role(monkeypatch):
    families = {family.name: family for family in database_families(_hosts(monkeypatch, _read()))}
    samples = {name: {tuple(s.labels.values()): s.value for s in family.samples} for name, family in families.items()}
    assert samples["monclub_database_primary"][("127.0.0.1:15403", "primary")] == 1
    assert samples["monclub_database_primary"][("127.0.0.1:15413", "standby")] == 0
    assert samples["monclub_database_synchronous"] == {("127.0.0.1:15413",): 1, ("127.0.0.1:15423",): 0}
    assert samples["monclub_database_lag_bytes"] == {("127.0.0.1:15413",): 0, ("127.0.0.1:15423",): 4096}
    assert samples["monclub_database_timeline"][("127.0.0.1:15403",)] == 3
    assert samples["monclub_database_patroni"][("127.0.0.1:15413", "pg1", "sync_standby", "streaming")] == 1
