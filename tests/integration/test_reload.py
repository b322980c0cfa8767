"""`monclub reload` under load: every shard process is replaced, one at a time, by a fresh process
running the code on disk, through the hand-over; no request fails, none is applied twice."""

import subprocess
import sys
import threading

from monclub.client import Client
from tests.fixtures.postgres import add_membres
from tests.fixtures.waiting import wait_for


def test_reload_under_load_replaces_every_shard_with_no_failed_request(reunions, sql):
    membres = add_membres(sql, 400)
    seances = [f"s{i}" for i in range(8)]
    with reunions.client() as client:
        for seance in seances:
            client.creer(seance, "Polar", places=400)
    before = reunions.shard_pids()
    failures, done, stop = [], [], threading.Event()

    def load() -> None:
        with Client(reunions.config) as client:
            for k, membre in enumerate(membres):
                if stop.is_set():
                    break
                try:
                    client.inscrire(seances[k % len(seances)], membre)
                    done.append(membre)
                except Exception as error:
                    failures.append(repr(error))

    worker = threading.Thread(target=load)
    worker.start()
    wait_for(lambda: len(done) >= 20, 30, "the load to run")
    reloaded = subprocess.run(
        [sys.executable, "-m", "monclub", "reload", "--branch", "reunions"],
        env=reunions.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    at_reload_end = len(done)
    stop.set()
    worker.join(timeout=60)
    assert reloaded.returncode == 0, reloaded.stderr
    assert "reloaded 2 shard processes" in reloaded.stdout
    after = reunions.shard_pids()
    assert set(after.values()).isdisjoint(before.values()), "every shard process was replaced"
    assert all(child["fresh"] for child in reunions.status()["children"]), "started by exec: the code on disk"
    assert failures == []
    assert at_reload_end > 20, "the load ran during the reload"
    registered = sql.execute("SELECT count(*) FROM inscriptions").fetchone()[0]
    assert registered == len(done)
