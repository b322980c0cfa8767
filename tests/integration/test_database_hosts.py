"""Several database hosts: MonClub's programs follow whichever server is primary.

Two real PostgreSQL servers on loopback (tests/fixtures/replicas.py): a primary and its
synchronous standby, in one `database_url` naming both. The faults are those a failover brings:
the old primary turned read-only under the sessions, killed, or frozen; the standby is promoted.
Every acknowledged reply must be in the new primary's data, once; the programs reconnect, they
are not restarted."""

import time
import uuid

import pytest

from monclub.db import SESSION_LOST, connect, hosts, scalar, servers
from monclub.db.pipeline import Pipelined
from monclub.postgres.embedded import ROLE
from tests.fixtures.postgres import add_membres, as_owner
from tests.fixtures.processes import launch
from tests.fixtures.replicas import primary_and_standby
from tests.fixtures.services import shard_and_accueil

# Two PostgreSQL servers of their own, and MonClub programs started by hand.
pytestmark = [pytest.mark.pg, pytest.mark.daemon]


@pytest.fixture
def pair():
    with primary_and_standby() as pair:
        yield pair


def _membres(pair, count: int) -> list[int]:
    with connect(as_owner(pair.url()), autocommit=True) as conn:
        return add_membres(conn, count)


def _registered(server, seance: str) -> list[int]:
    rows = server.sql(f"SELECT membre_id FROM inscriptions WHERE seance_id = '{seance}' ORDER BY rang")
    return [row[0] for row in rows]


def test_a_shard_and_the_accueil_follow_the_primary_when_the_old_one_turns_read_only(pair, state_dir):
    with shard_and_accueil(state_dir, pair.url()) as (reunions, accueil):
        a, b, c, d = _membres(pair, 4)
        with reunions.client() as client:
            client.creer("polar", "Soirée Polar", places=10)
            client.inscrire("polar", a)
            client.inscrire("polar", b)
            client.accueil("creer_membre", request_id=uuid.uuid4().hex, nom="Paul", email=None)  # its session: A
        pids = (reunions.shard_pids(), accueil.process.pid)

        # A failover as the sessions see it: their server refuses writes (25006) while they stay
        # on it, and another server becomes the primary.
        pair.primary.sql("ALTER SYSTEM SET default_transaction_read_only = on")
        pair.primary.sql("SELECT pg_reload_conf()")
        pair.promote()

        with reunions.client() as client:
            assert client.inscrire("polar", c) == {"statut": "inscrit"}
            assert client.inscrire("polar", d) == {"statut": "inscrit"}
            assert client.etat("polar")["inscrits"] == [a, b, c, d]
            created = client.accueil("creer_membre", request_id=uuid.uuid4().hex, nom="Marie", email=None)
        membre = created["membre"]["id"]
        assert _registered(pair.standby, "polar") == [a, b, c, d], "every acknowledged registration, once"
        assert pair.standby.sql(f"SELECT nom FROM membres WHERE id = {membre}") == [("Marie",)]
        assert _registered(pair.primary, "polar") == [a, b], "nothing written on the read-only server"
        assert (reunions.shard_pids(), accueil.process.pid) == pids, "reconnected, not restarted"
        assert reunions.process.poll() is None and accueil.process.poll() is None


def test_after_a_kill_of_the_primary_the_next_registration_commits_on_the_promoted_standby(pair, state_dir):
    reunions = launch(state_dir, pair.url(), shards=1)
    try:
        reunions.wait_ready()
        membres = _membres(pair, 6)
        with reunions.client() as client:
            client.creer("polar", "Soirée Polar", places=10)
            acknowledged = [m for m in membres[:3] if client.inscrire("polar", m) == {"statut": "inscrit"}]
        pids = reunions.shard_pids()
        assert [entry["role"] for entry in servers.read(pair.url())] == ["primary", "standby"]
        primary, standby = servers.read(pair.url(ROLE))  # the owner may read the senders and receivers
        assert (standby["sync"], primary["timeline"], standby["timeline"]) == (True, 1, 1)
        assert standby["lag_bytes"] is not None and standby["lag_bytes"] >= 0

        killed = time.monotonic()
        pair.primary.kill()
        pair.promote()
        after = servers.read(pair.url())
        assert [(entry["role"], entry["timeline"]) for entry in after] == [("unreachable", None), ("primary", 2)]
        with reunions.client() as client:
            assert client.inscrire("polar", membres[3]) == {"statut": "inscrit"}
            print(f"from the kill -9 of the primary to the next commit: {time.monotonic() - killed:.2f}s")
            acknowledged.append(membres[3])
            for membre in membres[4:]:
                assert client.inscrire("polar", membre) == {"statut": "inscrit"}
                acknowledged.append(membre)
        assert _registered(pair.standby, "polar") == acknowledged == membres
        assert reunions.shard_pids() == pids
    finally:
        reunions.stop()


def test_a_frozen_first_host_costs_only_the_first_session_of_a_process(pair, monkeypatch):
    monkeypatch.setattr(hosts, "_last_primary", None)
    url = pair.url()
    with connect(url) as conn:
        assert conn.info.port == pair.primary.port
    pair.primary.freeze()  # its kernel accepts connections; nobody answers them
    pair.promote()

    took = []
    for _ in range(3):
        started = time.monotonic()
        with connect(url) as conn:
            took.append(time.monotonic() - started)
            assert conn.info.port == pair.standby.port
    print("sessions opened in " + ", ".join(f"{seconds:.2f}s" for seconds in took))
    assert took[0] >= hosts.CONNECT_TIMEOUT * 0.9, "the first session waited on the frozen host"
    assert max(took[1:]) < hosts.CONNECT_TIMEOUT / 2, "the next ones went to the new primary first"


def test_a_session_whose_server_froze_under_it_is_lost_in_time_and_the_processs_others_at_once(pair):
    # The first host frozen while sessions are on it: its kernel acknowledges and answers the
    # keepalives, so only a bound on the answer ends the wait (monclub.db.bounded).
    url = pair.url()
    first, second = connect(url, answer_timeout=1.0), connect(url, answer_timeout=1.0)
    try:
        pair.primary.freeze()
        started = time.monotonic()
        with pytest.raises(SESSION_LOST):
            Pipelined(first).commit([("SELECT %s", (1,))])  # a shard's write waits on the socket itself
        waited = time.monotonic() - started
        with pytest.raises(SESSION_LOST):
            second.execute("SELECT 1")
        both = time.monotonic() - started
    finally:
        pair.primary.thaw()
        first.close()
        second.close()
    print(f"the first session lost after {waited:.2f}s, the second at once ({both - waited:.2f}s)")
    assert 1.0 <= waited < 3.0 and both - waited < 0.5
    with connect(url) as conn:  # a session opened since: the thawed server answers it
        assert scalar(conn, "SELECT 1") == 1
