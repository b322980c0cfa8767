"""A client in another language: the Node.js suite of tests/node (zeromq and @msgpack/msgpack,
written from docs/protocol.md, importing nothing of MonClub) drives a live MonClub over tcp with
CurveZMQ, its endpoints and key files given in the environment."""

import os
import shutil
import subprocess
from pathlib import Path

from monclub import keys
from tests.integration.test_access import free_ports

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
CURVE_ON_LOOPBACK = '[reunions]\ntcp = "127.0.0.1:{port}"\n[access]\ncurve = true\n'


def test_the_node_suite_drives_monclub_over_the_wire_only(start_tree, state_dir):
    node = shutil.which("node")
    assert node, "node (20 or later) is needed: install it, then scripts/install --test"
    assert (NODE_DIR / "node_modules" / "zeromq").is_dir(), "run scripts/install --test (npm ci in tests/node)"
    keys.init(state_dir)
    client_key = keys.add_client(state_dir, "node")
    port = free_ports(203)
    config = state_dir / "monclub.toml"
    config.write_text(CURVE_ON_LOOPBACK.format(port=port))
    tree = start_tree(MONCLUB_CONFIG=str(config))
    tree.wait_healthy()
    env = {
        "PATH": os.environ["PATH"],
        "MONCLUB_TCP": f"127.0.0.1:{port}",
        "MONCLUB_SERVER_KEY": str(keys.server_public(state_dir)),
        "MONCLUB_CLIENT_KEY": str(client_key),
    }
    done = subprocess.run(
        [node, "--test", "--test-timeout=60000", "club.test.mjs"],
        cwd=NODE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "# fail 0" in done.stdout and "# pass 11" in done.stdout, done.stdout
