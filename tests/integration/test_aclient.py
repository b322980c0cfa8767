"""The asyncio transport of MonClub's client (monclub/client/aio.py) against real shard processes:
many calls in flight on one DEALER, each answered once, through a kill -9 of the shard."""

import asyncio
import os
import signal

import pytest

from monclub.client.aio import AsyncClient
from monclub.errors import InvalidField, Refus, Unavailable
from tests.fixtures.postgres import add_membres
from tests.fixtures.processes import home_shard

pytestmark = pytest.mark.timeout(120)


def test_fifty_calls_in_flight_on_one_socket_each_get_their_own_reply(reunions, sql):
    membres = add_membres(sql, 60)

    async def run():
        client = AsyncClient(reunions.config)
        try:
            await client.command("reunions", "creer", "hot", titre="Hot", places=40, attente=5, tarif=0)
            answers = await asyncio.gather(
                *(client.command("reunions", "inscrire", "hot", membre=m) for m in membres[:50]), return_exceptions=True
            )
            with pytest.raises(InvalidField):
                await client.command("reunions", "inscrire", "hot", membre=0)
            with pytest.raises(Refus) as refused:
                await client.command("reunions", "inscrire", "hot", membre=membres[0])
            return answers, refused.value.code, len(client.sockets)
        finally:
            await client.close()

    answers, code, sockets = asyncio.run(run())
    assert [a["statut"] for a in answers if isinstance(a, dict)].count("inscrit") == 40
    assert sum(isinstance(a, dict) and a["statut"] == "en_attente" for a in answers) == 5
    assert [a.code for a in answers if isinstance(a, Refus)] == ["seance_complete"] * 5
    assert code == "deja_inscrit" and sockets == 1


def test_calls_in_flight_through_a_kill_9_of_their_shard_are_applied_once(reunions, sql):
    membres = add_membres(sql, 30)

    async def run():
        client = AsyncClient(reunions.config, attempt_timeout=0.3, deadline=20)
        try:
            await client.command("reunions", "creer", "storm", titre="Storm", places=100, attente=0, tarif=0)
            shard = reunions.shard_pids()[home_shard(reunions.config, "storm")]
            calls = [asyncio.ensure_future(client.command("reunions", "inscrire", "storm", membre=m)) for m in membres]
            await asyncio.sleep(0)
            os.kill(shard, signal.SIGKILL)
            return await asyncio.gather(*calls)
        finally:
            await client.close()

    answers = asyncio.run(run())
    assert answers == [{"statut": "inscrit"}] * 30
    rows = sql.execute("SELECT count(*) FROM events WHERE type = 'membre_inscrit' AND aggregate = 'seance/storm'")
    assert rows.fetchone()[0] == 30


def test_a_call_fails_at_once_when_nothing_listens_nor_will(reunions):
    reunions.stop()

    async def run():
        client = AsyncClient(reunions.config, deadline=10)
        try:
            loop = asyncio.get_running_loop()
            began = loop.time()
            with pytest.raises(Unavailable, match="not running"):
                await client.command("reunions", "etat", "x")
            return loop.time() - began
        finally:
            await client.close()

    assert asyncio.run(run()) < 3
