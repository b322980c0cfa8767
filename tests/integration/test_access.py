"""Who reaches a shard: CURVE on tcp lets in the allowlist only; refusals say what to run; the
password of a database URL shows nowhere."""

import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import uuid
from urllib.parse import quote

import psycopg.conninfo
import pytest
import zmq
import zmq.auth

from monclub import config as configuration
from monclub.client.sync import Client
from monclub.contract import protocol
from monclub.errors import Timeout
from monclub.wire import codec as wire
from monclub.wire import keys
from tests.fixtures.postgres import as_owner
from tests.fixtures.processes import launch
from tests.fixtures.tree import Tree
from tests.fixtures.waiting import wait_for

CURVE_ON_LOOPBACK = '[reunions]\ntcp = "127.0.0.1:{port}"\n[access]\ncurve = true\n'


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_ports(count: int) -> int:
    """The first of `count` consecutive free loopback ports."""
    for _ in range(100):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + count < 65536 and all(_free(base + i) for i in range(count)):
            return base
    raise AssertionError("no consecutive free ports")


def monclub(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "monclub", *args], env=env, capture_output=True, text=True, timeout=60)


def unanswered(env: dict, shard: int, client_key) -> bool:
    """True if a ping signed with `client_key` gets no answer within 1 s."""
    config = configuration.load({**env, "MONCLUB_CLIENT_KEY": str(client_key)})
    with pytest.raises(Timeout), Client(config, attempt_timeout=0.3, deadline=1.0) as client:
        client.ping(shard)
    return True


def test_a_curve_shard_serves_allowed_keys_and_refuses_any_other(start_reunions, state_dir, tmp_path):
    keys.init(state_dir)
    log = tmp_path / "reunions.log"
    reunions = start_reunions(config=CURVE_ON_LOOPBACK.format(port=free_ports(2)), log=log)
    endpoint = reunions.config.endpoint("reunions", 0)
    assert reunions.config.curve and endpoint.startswith("tcp://127.0.0.1:")
    with reunions.client() as client:
        pid = client.ping(0)["pid"]

    _, stranger = zmq.auth.create_certificates(tmp_path, "stranger")
    assert unanswered(reunions.env, 0, stranger)
    stranger_public = keys.public_key(stranger).decode()
    wait_for(
        lambda: f"its CURVE key {stranger_public} is not in the allowlist" in log.read_text(),
        10,
        "the shard to log the refusal",
    )

    plain = zmq.Context.instance().socket(zmq.REQ)
    plain.linger = 0
    plain.sndtimeo = 1000  # once the shard has refused the handshake, a REQ has no peer to send to
    plain.connect(endpoint)
    try:
        plain.send(wire.encode(protocol.request("p1", "ping")))
    except zmq.Again:
        pass  # refused before the send: nothing was sent, nothing can come back
    else:
        assert plain.poll(1000) == 0, "a client without CURVE gets nothing"
    plain.close()

    with reunions.client() as client:
        assert client.ping(0)["pid"] == pid, "the shard still serves, in the same process"

    alice = tmp_path / "alice.key_secret"
    shutil.copy(keys.add_client(state_dir, "alice"), alice)
    with Client(configuration.load({**reunions.env, "MONCLUB_CLIENT_KEY": str(alice)})) as client:
        assert client.ping(1)["shard"] == "reunions/shard-1", "a key allowed after the start is let in"
    assert keys.revoke(state_dir, "alice")
    assert unanswered(reunions.env, 1, alice), "a revoked key is refused on its next connection"
    assert reunions.stop() == 0
    stops = re.findall(r"child pid \d+ stopped: exit 0", log.read_text())  # the spare's stop is not a child's
    assert len(stops) == 2, "each shard stops on SIGTERM, its ZAP thread with it"


def test_keys_commands_make_private_keys_and_an_allowlist(state_dir):
    env = {**os.environ, "MONCLUB_HOME": str(state_dir), "MONCLUB_CONFIG": "/dev/null"}
    before = monclub(env, "keys", "client", "bob")
    assert before.returncode == 2 and "monclub keys init" in before.stderr
    assert json.loads(monclub(env, "keys", "init", "--json").stdout)["created"] is True
    assert json.loads(monclub(env, "keys", "init", "--json").stdout)["created"] is False, "init keeps its keys"
    made = json.loads(monclub(env, "keys", "client", "bob", "--json").stdout)
    again = monclub(env, "keys", "client", "bob")
    assert again.returncode == 1 and again.stderr.startswith("error: invalid_request: ")

    listing = json.loads(monclub(env, "keys", "list", "--json").stdout)
    assert listing["server"] == keys.public_key(keys.server_public(state_dir)).decode()
    assert {c["name"] for c in listing["allowed"]} == {"local", "bob"}
    assert keys.public_key(made["secret"]) in {c["public"].encode() for c in listing["allowed"]}
    directory = keys.directory(state_dir)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for secret in (keys.server_secret(state_dir), keys.client_secret(state_dir, "bob")):
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600

    assert monclub(env, "keys", "revoke", "bob").returncode == 0
    assert monclub(env, "keys", "revoke", "bob").returncode == 1
    assert [c["name"] for c in json.loads(monclub(env, "keys", "list", "--json").stdout)["allowed"]] == ["local"]


@pytest.mark.daemon  # `monclub start` (refused), then a Réunions supervisor by hand (launch)
def test_tcp_beyond_loopback_without_keys_is_refused_with_what_to_run(state_dir, database, tmp_path):
    config = tmp_path / "monclub.toml"
    config.write_text(f'[reunions]\ntcp = "0.0.0.0:{free_ports(2)}"\n')
    env = {
        **os.environ,
        "MONCLUB_HOME": str(state_dir),
        "MONCLUB_CONFIG": str(config),
        "MONCLUB_DATABASE_URL": database,
        "MONCLUB_OWNER_DATABASE_URL": as_owner(database),
    }
    refused = monclub(env, "start")
    assert refused.returncode == 2 and "binds beyond loopback" in refused.stderr
    assert "monclub keys init" in refused.stderr
    assert not (state_dir / "run" / "supervisord.pid").exists(), "nothing was started"

    log = tmp_path / "reunions.log"
    reunions = launch(state_dir, database, config=config.read_text(), log=log)
    assert reunions.process.wait(timeout=30) == 78, "the branch supervisor stops with EX_CONFIG, not restarted"
    assert "monclub keys init" in log.read_text()


@pytest.fixture
def gardien(owner_sql, database):
    """A role with a password, and a URL to the test database that carries it."""
    role, password = f"gardien_{uuid.uuid4().hex[:8]}", f"pw{uuid.uuid4().hex}"
    owner_sql.execute(f"CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{password}'")
    parts = psycopg.conninfo.conninfo_to_dict(database)
    url = f"postgresql://{role}:{password}@/{parts['dbname']}?host={quote(parts['host'])}&port={parts['port']}"
    yield url, password
    owner_sql.execute(f"DROP OWNED BY {role}")
    owner_sql.execute(f"DROP ROLE {role}")


@pytest.mark.slow
@pytest.mark.daemon  # a whole tree, started by hand with the password in its URL
def test_the_database_password_shows_in_no_output_and_no_log(gardien, database, state_dirs, tmp_path):
    url, password = gardien
    home = state_dirs()
    env = {k: v for k, v in os.environ.items() if k != "MONCLUB_CONFIG"}
    env.update(MONCLUB_HOME=str(home), MONCLUB_DATABASE_URL=url, MONCLUB_SHARDS="2")
    tree = Tree(env, database)
    outputs = []
    try:
        outputs.append(tree.monclub("start"))
        membre = json.loads(tree.monclub("membre", "creer", "Marie", "--json").stdout)["id"]
        tree.monclub("seance", "creer", "Polar", "--places", "2", "--id", "polar")
        outputs += [
            tree.monclub("inscrire", "polar", str(membre)),
            tree.monclub("status"),
            tree.monclub("status", "--json"),
            tree.monclub("verify", "--wait", "30"),
        ]
    finally:
        outputs.append(tree.monclub("stop", check=False))

    unreachable = url.replace("@/", "@127.0.0.1:1/").split("?")[0]
    outputs += [
        monclub({**env, "MONCLUB_DATABASE_URL": unreachable}, "seance", "liste"),
        monclub({**env, "MONCLUB_DATABASE_URL": url.replace("@/", "@[::1/")}, "seance", "liste"),
    ]
    assert [o.returncode for o in outputs[-2:]] == [1, 2], "unreachable, then malformed: each says so"
    log = tmp_path / "waiting.log"
    waiting = launch(state_dirs(), unreachable, log=log)
    try:
        wait_for(lambda: "waiting for the database" in log.read_text(), 30, "the supervisor to log its wait")
    finally:
        waiting.stop()

    logs = [path for path in (home / "log").iterdir() if path.is_file()] + [log]
    assert any(path.read_text() for path in logs), "the tree logged something"
    for path in logs:
        assert password not in path.read_text(errors="replace"), f"the password leaked into {path}"
    for output in outputs:
        assert password not in output.stdout + output.stderr, f"the password leaked into {output.args}"


def test_revoking_the_clis_own_key_asks_first_and_the_remedy_is_keys_client_local(state_dir, tmp_path):
    config = tmp_path / "monclub.toml"
    config.write_text(CURVE_ON_LOOPBACK.format(port=free_ports(2)))
    env = {**os.environ, "MONCLUB_HOME": str(state_dir), "MONCLUB_CONFIG": str(config)}
    assert monclub(env, "keys", "init").returncode == 0

    asked = monclub(env, "keys", "revoke", "local")
    assert asked.returncode == 1 and "is the key this monclub uses" in asked.stderr and "--yes" in asked.stderr
    assert keys.client_secret(state_dir).exists(), "nothing revoked without --yes"
    revoked = monclub(env, "keys", "revoke", "local", "--yes")
    assert revoked.returncode == 0 and "warning: " in revoked.stderr
    assert not keys.client_secret(state_dir).exists()

    refused = monclub(env, "seance", "voir", "polar")
    assert refused.returncode == 2 and "run `monclub keys client local`" in refused.stderr, refused.stderr
    assert "keys init" not in refused.stderr, "keys init keeps the server keypair and does not make `local` again"
    assert monclub(env, "keys", "client", "local").returncode == 0
    assert keys.client_secret(state_dir).exists()
