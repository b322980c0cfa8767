"""A client in another language: the Node.js suite of tests/node (zeromq and @msgpack/msgpack,
written from docs/protocol.md, importing nothing of MonClub) drives a live MonClub over tcp with
CurveZMQ, its endpoints and key files given in the environment."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from monclub.db import connect
from monclub.wire import keys
from tests.fixtures.waiting import wait_for
from tests.integration.test_access import free_ports

pytestmark = pytest.mark.node

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
CURVE_ON_LOOPBACK = '[reunions]\ntcp = "127.0.0.1:{port}"\n[access]\ncurve = true\n'


def _node_and_key(state_dir) -> tuple[str, object]:
    """Node.js, and this suite's client key in a new key set of `state_dir`."""
    node = shutil.which("node")
    assert node, "node (20 or later) is needed: install it, then scripts/install --test"
    assert (NODE_DIR / "node_modules" / "zeromq").is_dir(), "run scripts/install --test (npm ci in tests/node)"
    keys.init(state_dir)
    return node, keys.add_client(state_dir, "node")


def _node_env(port: int, state_dir, client_key) -> dict:
    return {
        "PATH": os.environ["PATH"],
        "MONCLUB_TCP": f"127.0.0.1:{port}",
        "MONCLUB_SERVER_KEY": str(keys.server_public(state_dir)),
        "MONCLUB_CLIENT_KEY": str(client_key),
    }


def test_the_node_suite_drives_monclub_over_the_wire_only(start_tree, state_dir):
    node, client_key = _node_and_key(state_dir)
    port = free_ports(203)
    config = state_dir / "monclub.toml"
    config.write_text(CURVE_ON_LOOPBACK.format(port=port))
    tree = start_tree(MONCLUB_CONFIG=str(config))
    tree.wait_healthy()
    done = subprocess.run(
        [node, "--test", "--test-timeout=60000", "club.test.mjs"],
        cwd=NODE_DIR,
        env=_node_env(port, state_dir, client_key),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "# fail 0" in done.stdout and "# pass 11" in done.stdout, done.stdout


def test_the_node_client_follows_a_partition_moved_to_another_node(start_tree, start_reunions, state_dirs, state_dir):
    """Two nodes over tcp with CurveZMQ (one key set for both); the Node.js client caches the
    directory, node b is drained, and the client's next request reaches the new owner by one redirect."""
    node, client_key = _node_and_key(state_dir)
    port = free_ports(203)
    config = state_dir / "monclub.toml"
    config.write_text(CURVE_ON_LOOPBACK.format(port=port))
    tree = start_tree(MONCLUB_CONFIG=str(config), MONCLUB_NODE="a")
    tree.wait_healthy()
    other = state_dirs()
    shutil.copytree(keys.directory(state_dir), keys.directory(other))
    b = start_reunions(home=other, config=CURVE_ON_LOOPBACK.format(port=free_ports(2)) + '[cluster]\nnode = "b"\n')
    owners = "SELECT count(DISTINCT owner_host) FROM partitions WHERE branch = 'reunions' AND lease_until > now()"
    with connect(tree.database, autocommit=True) as sql:
        wait_for(lambda: sql.execute(owners).fetchone()[0] == 2, 30, "the partitions to split between a and b")
    ready, moved = state_dir / "ready", state_dir / "moved"
    env = _node_env(port, state_dir, client_key) | {"MONCLUB_READY": str(ready), "MONCLUB_MOVED": str(moved)}
    with subprocess.Popen(
        [node, "--test", "--test-timeout=90000", "moved.test.mjs"],
        cwd=NODE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as suite:
        try:
            wait_for(lambda: ready.exists() or suite.poll() is not None, 60, "the Node test to cache the directory")
            drained = tree.monclub("node", "drain", "--node", "b", "--timeout", "30")
            assert "b drained: its partitions moved to a" in drained.stdout
            moved.touch()
            output, _ = suite.communicate(timeout=120)
        finally:
            suite.kill()
    assert suite.returncode == 0 and "# pass 1" in output, output
    assert b.process.poll() is None, "node b still runs, owning nothing"
