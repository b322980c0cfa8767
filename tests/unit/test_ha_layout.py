"""The three-server demo on paper: its timing keeps Patroni's rules, its ports keep clear of
etcd's and PostgreSQL's defaults, its Patroni never acknowledges a commit that one server alone
holds, and its URLs are what MonClub accepts for several hosts."""

from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from monclub.db import hosts
from monclub.postgres.ha import layout

SECRETS = {"monclub": "o", "monclub_app": "a", "replicator": "r", "rewinder": "w"}


def test_the_timing_keeps_patronis_rule_and_least_ttl():
    timing = layout.TIMING
    assert timing["ttl"] >= 20, "Patroni raises a lower ttl to 20 s (with a warning)"
    assert timing["loop_wait"] + 2 * timing["retry_timeout"] <= timing["ttl"]
    assert timing["primary_start_timeout"] == 0, "a crashed primary fails over instead of restarting in place"


def test_the_ports_are_the_demos_own():
    ports = layout.ports(layout.BASE_PORT)
    assert len(ports) == len(set(ports)) == 12
    assert not {2379, 2380, 5432} & set(ports), "never etcd's nor PostgreSQL's defaults"
    assert layout.ports(16000)[0] == 16000


def test_each_patroni_runs_strict_synchronous_replication_against_the_three_etcd_members():
    members = layout.members(Path("/demo"))
    config = layout.patroni_config(members[1], members, Path("/usr/lib/postgresql/15/bin"), SECRETS)
    dcs = config["bootstrap"]["dcs"]
    assert dcs["synchronous_mode"] is True and dcs["synchronous_mode_strict"] is True
    assert config["etcd"]["hosts"] == ["127.0.0.1:15400", "127.0.0.1:15410", "127.0.0.1:15420"]
    assert "etcd3" not in config, "etcd3's leases are revoked by a leader thawed after a freeze"
    assert config["postgresql"]["listen"] == "127.0.0.1:15413" and config["restapi"]["listen"] == "127.0.0.1:15412"
    assert config["postgresql"]["authentication"]["superuser"] == {"username": "monclub", "password": "o"}
    assert "statement_timeout" not in dcs["postgresql"]["parameters"], "a cancelled wait acknowledges a local commit"
    argv = layout.etcd_argv(members[1], members)
    assert argv[argv.index("--initial-cluster") + 1].count("=http://127.0.0.1:") == 3
    assert "--enable-v2" in argv


def test_the_urls_name_the_three_servers_and_land_on_the_primary():
    urls = layout.urls(layout.members(Path("/demo")), SECRETS)
    for role, key in (("monclub_app", "database_url"), ("monclub", "owner_database_url")):
        params = conninfo_to_dict(urls[key])
        assert hosts.servers(params) == [("127.0.0.1", "15403"), ("127.0.0.1", "15413"), ("127.0.0.1", "15423")]
        assert params["user"] == role and hosts.refusal(params) is None
    assert urls["patroni_urls"] == ["http://127.0.0.1:15402", "http://127.0.0.1:15412", "http://127.0.0.1:15422"]


def test_members_on_hosts_of_their_own_listen_and_are_named_at_their_addresses():
    addresses = ["10.0.0.5", "10.0.0.6", "10.0.0.7"]
    members = layout.members(Path("/demo"), layout.BASE_PORT, addresses)
    config = layout.patroni_config(members[2], members, Path("/bin"), SECRETS, "10.0.0.0/24")
    assert config["postgresql"]["listen"] == "10.0.0.7:15423" and config["restapi"]["listen"] == "10.0.0.7:15422"
    assert config["etcd"]["hosts"] == ["10.0.0.5:15400", "10.0.0.6:15410", "10.0.0.7:15420"]
    assert "host all all 10.0.0.0/24 scram-sha-256" in config["postgresql"]["pg_hba"]
    urls = layout.urls(members, SECRETS)
    assert hosts.servers(conninfo_to_dict(str(urls["database_url"])))[0] == ("10.0.0.5", "15403")
    assert urls["patroni_urls"][1] == "http://10.0.0.6:15412"


@pytest.mark.parametrize(("version", "refused"), [("3.4.23", False), ("3.5.16", False), ("3.6.0", True), ("?", True)])
def test_an_etcd_without_the_v2_api_is_refused(version, refused):
    reason = layout.etcd_refusal(f"etcd Version: {version}\nGit SHA: Not provided\n")
    assert (reason is not None) == refused
