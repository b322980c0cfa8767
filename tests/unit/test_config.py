import socket
from pathlib import Path

import pytest

from monclub import config
from monclub.errors import ConfigError


def write(tmp_path, text: str) -> dict:
    path = tmp_path / "monclub.toml"
    path.write_text(text)
    return {"MONCLUB_CONFIG": str(path), "MONCLUB_HOME": "/tmp/h"}


def test_environment_wins_over_the_file(tmp_path):
    env = write(tmp_path, "[reunions]\nshards = 3\n")
    assert config.load(env).shards == 3
    assert config.load({**env, "MONCLUB_SHARDS": "5"}).shards == 5
    assert config.load(env).embedded
    assert not config.load({**env, "MONCLUB_DATABASE_URL": "postgresql:///x"}).embedded


def test_tcp_endpoints_count_up_from_the_base_port(tmp_path):
    loaded = config.load(write(tmp_path, '[reunions]\ntcp = "127.0.0.1:7100"\n'))
    assert loaded.endpoint("reunions", 2) == "tcp://127.0.0.1:7102"
    assert loaded.endpoint("reunions") == "ipc:///tmp/h/run/reunions.sock"


@pytest.mark.parametrize(
    "text",
    [
        '[reunions]\ntcp = "127.0.0.1"\n',
        '[reunions]\ntcp = "tcp://h:1"\n',
        '[access]\ncurve = "yes"\n',
        '[postgres]\nlisten_addresses = "*"\n',
        'patroni_urls = "db1:8008"\n',
        "patroni_urls = 8008\n",
        "[reunions]\nshards = 0\n",
        '[reunions]\nshards = "x"\n',
        "not toml [",
    ],
)
def test_bad_configuration_says_what_to_change(tmp_path, text):
    with pytest.raises(ConfigError):
        config.load(write(tmp_path, text))


def test_patronis_urls_come_from_a_list_or_the_environment(tmp_path):
    env = write(tmp_path, 'patroni_urls = ["http://db1:8008/", "http://db2:8008"]\n')
    assert config.load(env).patroni_urls == ("http://db1:8008", "http://db2:8008")
    assert config.load({**env, "MONCLUB_PATRONI_URLS": "https://a:1, https://b:2"}).patroni_urls == (
        "https://a:1",
        "https://b:2",
    )
    assert config.load(write(tmp_path, "")).patroni_urls == ()


def test_an_ipc_path_too_long_for_a_unix_socket_is_refused():
    loaded = config.load({"MONCLUB_HOME": "/tmp/" + "x" * 120, "MONCLUB_CONFIG": "/dev/null"})
    with pytest.raises(ConfigError, match="MONCLUB_HOME"):
        loaded.endpoint("reunions", 0)


@pytest.mark.parametrize(
    "text", ["[prets]\nrelance_seconds = 0\n", "[prets]\njour_seconds = -1\n", "[prets]\nrelances_max = -1\n"]
)
def test_loan_timings_must_be_positive(tmp_path, text):
    with pytest.raises(ConfigError):
        config.load(write(tmp_path, text))


@pytest.mark.parametrize(
    "text, curve",
    [
        ('[reunions]\ntcp = "127.0.0.1:7100"\n', False),
        ('[reunions]\ntcp = "localhost:7100"\n', False),
        ('[reunions]\ntcp = "0.0.0.0:7100"\n', True),
        ('[reunions]\ntcp = "192.168.1.10:7100"\n', True),
        ('[reunions]\ntcp = "club.example.org:7100"\n', True),
        ('[reunions]\ntcp = "127.0.0.1:7100"\n[access]\ncurve = true\n', True),
    ],
)
def test_curve_is_on_beyond_loopback_or_when_forced(tmp_path, text, curve):
    assert config.load(write(tmp_path, text)).curve is curve


def test_the_archive_is_kept_forever_unless_the_club_chooses_a_number_of_months(tmp_path):
    assert config.load(write(tmp_path, "")).history_keep == 0
    assert config.load(write(tmp_path, "[history]\nkeep = 24\n")).history_keep == 24
    with pytest.raises(ConfigError) as refused:
        config.load(write(tmp_path, "[history]\nkeep = -1\n"))
    assert "history.keep" in str(refused.value)


def test_client_keys_default_to_the_state_directory_and_the_environment_wins(tmp_path):
    env = write(tmp_path, '[access]\nserver_key = "/k/server.key"\n')
    loaded = config.load(env)
    assert loaded.server_key == Path("/k/server.key")
    assert loaded.client_key == Path("/tmp/h/keys/clients/local.key_secret")
    assert config.load({**env, "MONCLUB_CLIENT_KEY": "/k/me.key_secret"}).client_key == Path("/k/me.key_secret")


def test_a_malformed_database_url_is_refused_without_its_password(tmp_path):
    env = {**write(tmp_path, ""), "MONCLUB_DATABASE_URL": "postgresql://gardien:s3cr3t@[::1/monclub"}
    with pytest.raises(ConfigError) as refused:
        config.load(env)
    assert "s3cr3t" not in str(refused.value) and "***" in str(refused.value)


def test_15_the_programs_and_the_migrations_connect_as_two_roles(tmp_path):
    embedded = config.load(write(tmp_path, ""))
    assert "user=monclub_app" in embedded.conninfo() and "user=monclub" in embedded.owner_conninfo()
    assert embedded.app_role() == "monclub_app"
    env = {**write(tmp_path, 'owner_database_url = "postgresql://gerant@db/club"\n')}
    external = config.load({**env, "MONCLUB_DATABASE_URL": "postgresql://club@db/club"})
    assert (external.conninfo(), external.owner_conninfo()) == (
        "postgresql://club@db/club",
        "postgresql://gerant@db/club",
    )
    assert external.app_role() == "club"
    overridden = config.load(
        {
            **env,
            "MONCLUB_DATABASE_URL": "postgresql://club@db/club",
            "MONCLUB_OWNER_DATABASE_URL": "postgresql://o@db/c",
        }
    )
    assert overridden.owner_conninfo() == "postgresql://o@db/c"
    alone = config.load({**write(tmp_path, ""), "MONCLUB_DATABASE_URL": "postgresql://club@db/club"})
    assert alone.owner_conninfo() == alone.conninfo(), "an external database of the previous version keeps working"


def test_15_an_owner_url_is_refused_without_its_password_or_without_a_database_url(tmp_path):
    env = {**write(tmp_path, ""), "MONCLUB_DATABASE_URL": "postgresql:///x"}
    with pytest.raises(ConfigError) as malformed:
        config.load({**env, "MONCLUB_OWNER_DATABASE_URL": "postgresql://gerant:s3cr3t@[::1/monclub"})
    assert "owner_database_url" in str(malformed.value) and "s3cr3t" not in str(malformed.value)
    with pytest.raises(ConfigError, match="without database_url"):
        config.load({**write(tmp_path, ""), "MONCLUB_OWNER_DATABASE_URL": "postgresql:///x"})


def test_the_node_is_named_by_the_config_or_the_host(tmp_path):
    settings = tmp_path / "monclub.toml"
    settings.write_text('[cluster]\nnode = "paris-1"\n')
    assert config.load({"MONCLUB_CONFIG": str(settings), "MONCLUB_HOME": str(tmp_path)}).node == "paris-1"
    assert config.load({"MONCLUB_HOME": str(tmp_path), "MONCLUB_NODE": "lyon"}).node == "lyon"
    assert config.load({"MONCLUB_HOME": str(tmp_path)}).node == socket.gethostname()
    settings.write_text('[cluster]\nnode = "paris 1"\n')
    with pytest.raises(ConfigError, match="cluster.node"):
        config.load({"MONCLUB_CONFIG": str(settings), "MONCLUB_HOME": str(tmp_path)})


def test_each_branch_reads_its_section_then_its_variables_into_the_attributes_kept(tmp_path):
    env = write(tmp_path, "[reunions]\npartitions = 12\n[prets]\nshards = 3\npartitions = 6\n")
    loaded = config.load({**env, "MONCLUB_PRET_PARTITIONS": "9", "MONCLUB_PARTITIONS": "20"})
    assert (loaded.shards, loaded.partitions, loaded.pret_shards, loaded.pret_partitions) == (4, 20, 3, 9)
    assert [(loaded.shard_count(b), loaded.partition_count(b)) for b in ("reunions", "prets")] == [(4, 20), (3, 9)]
    with pytest.raises(ConfigError, match=r"prets\.shards = 7 exceeds prets\.partitions = 6"):
        config.load({**env, "MONCLUB_PRET_SHARDS": "7"})
