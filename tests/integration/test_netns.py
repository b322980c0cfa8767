"""The multi-host test harness itself: namespaces, PostgreSQL over tcp with passwords, cut links,
frozen processes, and nothing left behind (tests/fixtures/netns.py, docs/cluster.md)."""

import ipaddress
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests.fixtures.netns import (
    PREFIX,
    Network,
    _ip_json,
    namespaces,
    network,
    used_networks,
)
from tests.fixtures.waiting import wait_for

# The last test makes its namespaces itself (network()), with no fixture.
pytestmark = [pytest.mark.slow, pytest.mark.netns]

ECHO_PORT = 7000
ECHO_SERVER = r"""
import socket, sys
server = socket.create_server((sys.argv[1], int(sys.argv[2])))
while True:
    conn, peer = server.accept()
    with conn:
        conn.sendall(conn.recv(1024) + b" from " + peer[0].encode())
"""


def echo(address: str, port: int = ECHO_PORT, timeout: float = 2) -> bytes:
    with socket.create_connection((address, port), timeout=timeout) as conn:
        conn.sendall(b"ping")
        return conn.recv(1024)


def query(conninfo: str, statement: str, **kwargs):
    """One statement on a new connection (run through Network.call: inside a host's namespace)."""
    with psycopg.connect(conninfo, connect_timeout=3, **kwargs) as conn:
        return conn.execute(statement).fetchone()


def start_echo(net: Network, host: str) -> subprocess.Popen:
    address = net.hosts[host].address
    server = net.spawn(host, [sys.executable, "-c", ECHO_SERVER, address, str(ECHO_PORT)])
    wait_for(lambda: _answers(net, "pg", address), timeout=15, what=f"the echo server in {host}", interval=0.1)
    return server


def _answers(net: Network, client: str, address: str) -> bool:
    try:
        return net.call(client, echo, address, timeout=10).startswith(b"ping")
    except OSError:
        return False


def gone(pid: int) -> bool:
    """No such process, or a zombie (dead, waiting for whoever adopted it to reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def stop(process: subprocess.Popen) -> None:
    process.kill()
    process.wait(timeout=10)


def test_addresses_exist_only_inside_the_namespaces(netns):
    subnet = netns.subnet
    assert subnet.is_private
    assert not any(subnet.overlaps(used) for used in used_networks()), "the machine itself has the subnet"
    for host in netns.hosts.values():
        addresses = {
            link["ifname"]: [a["local"] for a in link["addr_info"]] for link in _ip_json("-n", host.netns, "-4", "addr")
        }
        assert addresses == {"lo": ["127.0.0.1"], "eth0": [host.address]}
        assert ipaddress.IPv4Address(host.address) in subnet
        routes = _ip_json("-n", host.netns, "-4", "route")
        assert [route["dst"] for route in routes] == [str(subnet)], "a route other than the subnet's (a default?)"
        assert host.home.is_dir()
    assert not any(
        a["local"] != "127.0.0.1" for link in _ip_json("-n", netns.switch, "-4", "addr") for a in link["addr_info"]
    )
    assert len({host.home for host in netns.hosts.values()}) == len(netns.hosts), "state directories shared"


def test_a_node_reaches_postgres_over_tcp_with_the_password(netns, netns_database):
    pg = netns.postgres
    for node in netns.nodes:
        server, client, role = netns.call(
            node, query, netns_database, "SELECT host(inet_server_addr()), host(inet_client_addr()), current_user"
        )
        assert (server, client, role) == (pg.address, node.address, "monclub_app")
    first, second = netns.nodes[0], netns.nodes[1]
    (membre,) = netns.call(first, query, netns_database, "INSERT INTO membres (nom) VALUES ('Marie') RETURNING id")
    assert netns.call(second, query, netns_database, f"SELECT nom FROM membres WHERE id = {membre}") == ("Marie",)


def test_without_the_password_a_node_is_refused(netns):
    pg = netns.postgres
    node = netns.nodes[0]
    with pytest.raises(psycopg.OperationalError, match="no password supplied"):
        netns.call(node, query, pg.conninfo(password=False), "SELECT 1")
    wrong = pg.conninfo(password=False) + " password=wrong"
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        netns.call(node, query, wrong, "SELECT 1")


def test_the_unix_socket_is_not_a_way_in(netns):
    pg = netns.postgres
    node = netns.nodes[0]
    socket_file = pg.socket_directory / ".s.PGSQL.5432"
    assert socket_file.is_socket(), "the server has its unix socket (so the refusal below means something)"
    assert str(pg.socket_directory) not in pg.conninfo()
    assert not any(str(pg.socket_directory).startswith(str(n.home)) for n in netns.nodes)
    # Even knowing the path (nodes are not given it), with the right password: pg_hba has no local line.
    by_path = f"host={pg.socket_directory} port=5432 dbname=monclub user=monclub_app password={pg.password}"
    with pytest.raises(psycopg.OperationalError, match=r'no pg_hba.conf entry for host "\[local\]"'):
        netns.call(node, query, by_path, "SELECT 1")


def test_nodes_reach_each_other_over_tcp_only_at_their_addresses(netns):
    server = start_echo(netns, "n1")
    try:
        n0, n1, n2 = netns.nodes
        assert netns.call(n0, echo, n1.address) == f"ping from {n0.address}".encode()
        assert netns.call(n2, echo, n1.address) == f"ping from {n2.address}".encode()
        done = netns.run(
            n0, [sys.executable, "-c", f"import socket; socket.create_connection(({n1.address!r}, 7000), 2)"]
        )
        assert done.returncode == 0, done.stderr
        with pytest.raises(ConnectionRefusedError):  # loopback is each namespace's own
            netns.call(n0, echo, "127.0.0.1")
    finally:
        stop(server)


def test_a_cut_node_loses_its_connections_and_gets_them_back(netns, netns_database):
    pg = netns.postgres
    node, other = netns.nodes[0], netns.nodes[1]
    # tcp_user_timeout: a query whose packets are not acknowledged fails after 1.5 s (not in 15 min)
    conn = netns.call(node, psycopg.connect, netns_database, connect_timeout=3, tcp_user_timeout=1500, autocommit=True)
    try:
        (backend,) = conn.execute("SELECT pg_backend_pid()").fetchone()
        netns.cut(node)
        assert netns.is_cut(node)
        started = time.monotonic()
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
        assert time.monotonic() - started < 10
    finally:
        conn.close()
    started = time.monotonic()
    with pytest.raises(psycopg.OperationalError):  # connection timeout or no route to host
        netns.call(node, query, pg.conninfo(), "SELECT 1", timeout=20)
    assert time.monotonic() - started < 10
    assert netns.call(other, query, pg.conninfo(), "SELECT 1") == (1,), "the other nodes are not cut"
    session = f"SELECT host(client_addr) FROM pg_stat_activity WHERE pid = {backend}"
    assert pg.owner(lambda conn: conn.execute(session).fetchone()) == (node.address,), "held just after the cut"
    # The server's keepalives (DEAD_PEER_SETTINGS: 5 + 3 x 2 s) end the cut node's session, and
    # with it its advisory locks, instead of the OS's two hours.
    wait_for(lambda: pg.owner(lambda conn: conn.execute(session).fetchone()) is None, 30, "the session to end")

    netns.restore(node)
    assert not netns.is_cut(node)

    def back() -> bool:
        try:
            return netns.call(node, query, pg.conninfo(), "SELECT 1", timeout=20) == (1,)
        except psycopg.OperationalError:
            return False

    wait_for(back, timeout=20, what="the restored node to reach PostgreSQL again", interval=0.2)


def test_a_split_network_has_two_sides_that_reach_only_their_own_hosts_until_joined(netns):
    server = start_echo(netns, "n2")
    try:
        netns.split(["n1", "n2"])  # n1 and n2 on the second switch; pg and n0 on the first
        assert _answers(netns, "n1", netns.hosts["n2"].address), "the same side"
        assert not _answers(netns, "n0", netns.hosts["n2"].address), "across the split"
        assert netns.call("pg", query, netns.postgres.conninfo(), "SELECT 1") == (1,), "pg's side reaches pg"
        netns.join()
        wait_for(lambda: _answers(netns, "n0", netns.hosts["n2"].address), 15, "the trunk to carry again", 0.1)
    finally:
        netns.join()
        stop(server)


def test_a_frozen_process_answers_nothing_until_thawed(netns):
    server = start_echo(netns, "n2")
    try:
        n0, n2 = netns.nodes[0], netns.nodes[2]
        pids = netns.pids(n2)
        assert server.pid in pids and pids, "the node's processes"
        netns.freeze(pids)
        with pytest.raises(socket.timeout):  # its kernel accepts the connection; nobody answers
            netns.call(n0, echo, n2.address, ECHO_PORT, 1.0)
        netns.thaw(pids)
        assert netns.call(n0, echo, n2.address) == f"ping from {n0.address}".encode()
    finally:
        netns.thaw(netns.pids("n2"))
        stop(server)


def test_everything_is_removed_even_after_a_failure_and_a_crashed_run_is_cleaned():
    # A crashed run: its pytest is dead (a zombie not reaped yet: still dead), a process of it
    # still runs in its namespace, its state directory is still there.
    crashed = subprocess.Popen(["true"])
    wait_for(lambda: gone(crashed.pid), timeout=10, what="the crashed run's pytest to be a zombie")
    stale = f"{PREFIX}{crashed.pid}-dead-n0"
    stale_dir = Path("/tmp") / f"{PREFIX}{crashed.pid}-dead"
    subprocess.run(["ip", "netns", "add", stale], check=True, timeout=10)
    left = subprocess.Popen(["ip", "netns", "exec", stale, "sleep", "300"])
    stale_dir.mkdir()
    sleeper = None
    with pytest.raises(RuntimeError, match="the test failed"):
        with network(nodes=1) as net:
            assert stale not in namespaces() and not stale_dir.exists(), "a crashed run's leftovers removed"
            assert left.wait(timeout=10) == -9, "the crashed run's process killed"
            crashed.wait(timeout=10)
            assert set(net.namespaces()) <= set(namespaces())
            sleeper = net.spawn("n0", ["sleep", "300"])
            orphan = net.run("n0", ["sh", "-c", "sleep 300 >/dev/null 2>&1 & echo $!"]).stdout
            net.freeze([sleeper.pid])
            net.cut("n0")
            base = net.base
            raise RuntimeError("the test failed")
    assert not [name for name in namespaces() if name.startswith(net.prefix)]
    assert sleeper is not None and sleeper.poll() is not None
    assert gone(int(orphan)), "a process the node left behind is gone too"
    assert not base.exists()
