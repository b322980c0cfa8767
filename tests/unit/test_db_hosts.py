"""Several database hosts in one URL: which servers it names, the last primary seen put first,
what a session to several hosts must check, and the URLs refused when the configuration loads."""

from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from psycopg.conninfo import conninfo_to_dict

from monclub import config
from monclub.db import hosts, options
from monclub.errors import ConfigError

THREE = "host=db1,db2,db3 port=5432,5433,5434 dbname=monclub user=monclub_app password=s3cr3t"


def test_a_url_names_its_servers_in_order_in_either_spelling():
    assert hosts.servers(conninfo_to_dict(THREE)) == [("db1", "5432"), ("db2", "5433"), ("db3", "5434")]
    url = "postgresql://monclub_app:s3cr3t@db1:5432,db2:5433/monclub?target_session_attrs=read-write"
    assert hosts.servers(conninfo_to_dict(url)) == [("db1", "5432"), ("db2", "5433")]
    assert hosts.servers(conninfo_to_dict("host=a,b port=6000")) == [("a", "6000"), ("b", "6000")]
    assert hosts.servers(conninfo_to_dict("hostaddr=10.0.0.1,10.0.0.2")) == [("10.0.0.1", ""), ("10.0.0.2", "")]
    assert hosts.servers(conninfo_to_dict("dbname=x")) == []


def test_the_last_primary_goes_first_with_its_port_and_the_others_keep_their_order():
    moved = hosts.primary_first(conninfo_to_dict(THREE), ("db3", "5434"))
    assert hosts.servers(moved) == [("db3", "5434"), ("db1", "5432"), ("db2", "5433")]
    assert moved["password"] == "s3cr3t" and moved["dbname"] == "monclub"
    paired = hosts.primary_first(conninfo_to_dict("host=a,b hostaddr=10.0.0.1,10.0.0.2 port=1,2"), ("b", "2"))
    assert (paired["host"], paired["hostaddr"], paired["port"]) == ("b,a", "10.0.0.2,10.0.0.1", "2,1")


def test_one_server_alone_keeps_its_port_and_address_and_accepts_any_session():
    second = hosts.alone(conninfo_to_dict(THREE), 1)
    assert hosts.servers(second) == [("db2", "5433")]
    assert second["target_session_attrs"] == "any" and second["password"] == "s3cr3t"
    paired = hosts.alone(conninfo_to_dict("host=a,b hostaddr=10.0.0.1,10.0.0.2 port=6000"), 1)
    assert (paired["host"], paired["hostaddr"], paired["port"]) == ("b", "10.0.0.2", "6000")


def test_an_unknown_or_absent_primary_leaves_the_order_as_written():
    params = conninfo_to_dict(THREE)
    assert hosts.primary_first(params, None) == params
    assert hosts.primary_first(params, ("db2", "9999")) == params, "same host, another server"
    assert hosts.primary_first(params, ("elsewhere", "5432")) == params
    assert hosts.primary_first(conninfo_to_dict("host=a,b"), ("b", "5432"))["host"] == "b,a", "no port: libpq's"


@given(st.lists(st.integers(1024, 65535), min_size=2, max_size=6, unique=True), st.data())
def test_reordering_is_a_permutation_with_the_primary_first(ports, data):
    params = {"host": ",".join(f"h{port}" for port in ports), "port": ",".join(map(str, ports)), "dbname": "x"}
    primary = data.draw(st.sampled_from(hosts.servers(params)))
    moved = hosts.servers(hosts.primary_first(params, primary))
    assert moved[0] == primary
    assert moved[1:] == [server for server in hosts.servers(params) if server != primary]


def test_a_process_tries_first_the_server_its_last_session_landed_on(monkeypatch):
    monkeypatch.setattr(hosts, "_last_primary", None)
    assert hosts.ordered(THREE) == THREE, "nothing seen yet: as written"
    hosts.remember(SimpleNamespace(info=SimpleNamespace(host="db2", port=5433)))
    assert hosts.servers(conninfo_to_dict(hosts.ordered(THREE)))[0] == ("db2", "5433")
    single = "host=db2 port=5433 dbname=monclub"
    assert hosts.ordered(single) == single, "one host: the URL reaches libpq untouched"


def test_a_process_tries_last_the_server_it_last_found_silent_until_a_session_lands_there(monkeypatch):
    monkeypatch.setattr(hosts, "_last_primary", None)
    monkeypatch.setattr(hosts, "_silent", None)
    hosts.remember(SimpleNamespace(info=SimpleNamespace(host="db2", port=5433)))
    hosts.silent(("db2", "5433"))  # the primary it landed on stopped answering
    order = hosts.servers(conninfo_to_dict(hosts.ordered(THREE)))
    assert order[-1] == ("db2", "5433") and len(order) == 3
    hosts.remember(SimpleNamespace(info=SimpleNamespace(host="db2", port=5433)))  # it answers again
    assert hosts.servers(conninfo_to_dict(hosts.ordered(THREE)))[0] == ("db2", "5433")


def test_a_session_to_several_hosts_lands_on_a_primary_and_gives_up_on_a_silent_host_sooner():
    several = options(THREE)
    assert several["target_session_attrs"] == "read-write"
    assert several["connect_timeout"] == hosts.CONNECT_TIMEOUT == 2
    alone = options("host=db1 dbname=monclub")
    assert "target_session_attrs" not in alone and alone["connect_timeout"] == 5
    own = options(THREE + " target_session_attrs=primary connect_timeout=7")
    assert "target_session_attrs" not in own and "connect_timeout" not in own, "the URL's own settings win"


@pytest.mark.parametrize(
    "url, words",
    [
        (THREE + " target_session_attrs=any", "target_session_attrs=any with several hosts"),
        (THREE + " target_session_attrs=prefer-standby", "use target_session_attrs=read-write"),
        ("host=a,b,c port=1,2 dbname=x password=s3cr3t", "2 values of port for 3 hosts"),
    ],
)
def test_a_url_that_could_land_on_a_standby_is_refused_with_what_to_write(tmp_path, url, words):
    path = tmp_path / "monclub.toml"
    path.write_text("")
    with pytest.raises(ConfigError) as refused:
        config.load({"MONCLUB_CONFIG": str(path), "MONCLUB_HOME": "/tmp/h", "MONCLUB_DATABASE_URL": url})
    assert words in str(refused.value) and "s3cr3t" not in str(refused.value)
    assert str(refused.value).startswith("database_url: ")


def test_several_hosts_that_land_on_a_primary_are_accepted(tmp_path):
    path = tmp_path / "monclub.toml"
    path.write_text(f'database_url = "{THREE} target_session_attrs=primary"\n')
    loaded = config.load({"MONCLUB_CONFIG": str(path), "MONCLUB_HOME": "/tmp/h"})
    assert loaded.app_role() == "monclub_app" and not loaded.embedded
