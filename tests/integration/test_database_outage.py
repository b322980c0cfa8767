"""PostgreSQL goes away and comes back: shards answer unavailable, never crash-loop, then serve."""

import pytest

from monclub.db import connect
from monclub.errors import Unavailable
from tests.fixtures.postgres import add_membres, private_cluster
from tests.fixtures.processes import launch

# A PostgreSQL of its own (outage_cluster) and a Réunions supervisor started by hand.
pytestmark = [pytest.mark.pg, pytest.mark.daemon]


@pytest.fixture
def outage_cluster():
    with private_cluster() as server:
        yield server


def test_shards_answer_unavailable_while_the_database_is_down_then_recover(outage_cluster, state_dir):
    conninfo = outage_cluster.cluster.conninfo()
    reunions = launch(state_dir, conninfo)
    try:
        reunions.wait_ready()
        with connect(conninfo, autocommit=True) as conn:
            a, b = add_membres(conn, 2)
        with reunions.client() as client:
            client.creer("polar", "Soirée Polar", places=5)
            client.inscrire("polar", a)
        pids = reunions.shard_pids()

        outage_cluster.stop()
        with reunions.client(attempt_timeout=0.5, deadline=2.0) as client:
            with pytest.raises(Unavailable) as down:
                client.inscrire("polar", b)
        assert down.value.code == "unavailable", "a shard that knows nothing was committed says so"
        assert reunions.shard_pids() == pids and reunions.process.poll() is None

        outage_cluster.start()
        with reunions.client() as client:
            assert client.inscrire("polar", b) == {"statut": "inscrit"}
            assert client.etat("polar")["inscrits"] == [a, b]
        assert reunions.shard_pids() == pids
    finally:
        reunions.stop()
