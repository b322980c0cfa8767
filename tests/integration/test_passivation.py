"""Passivation on the whole tree: shard processes that keep at most `max_loaded` séances touch many
more, and every command is still decided on the séance as stored; `monclub status --json` shows
each shard's loaded and unloaded counts; a copy unloaded for being idle still gets its reminders,
once each."""

import pytest

from monclub.errors import Refus
from tests.fixtures.postgres import add_membres
from tests.fixtures.tree import with_settings
from tests.fixtures.waiting import wait_for
from tests.integration.test_prets import COMPLETE, reminders

MAX_LOADED = 4
SEANCES = 24
SETTINGS = f"""[reunions]
max_loaded = {MAX_LOADED}
[prets]
shards = 1
idle = 0.2
jour_seconds = 1
jours = 1
relance_seconds = 1
relances_max = 3
"""


@pytest.fixture
def small_tree(start_tree, state_dirs):
    return with_settings(start_tree, state_dirs(), SETTINGS)


def shards(tree, branch: str) -> list[dict]:
    return next(p for p in tree.status()["programs"] if p["name"] == branch)["children"]


def test_shards_that_keep_few_seances_loaded_decide_every_command_on_the_seance_as_stored(small_tree, sql):
    a, b = add_membres(sql, 2)
    seances = [f"passive-{n}" for n in range(SEANCES)]
    with small_tree.client() as client:
        for seance in seances:
            client.creer(seance, seance, places=1)
        for seance in seances:
            assert client.inscrire(seance, a) == {"statut": "inscrit"}
        for seance in seances:
            with pytest.raises(Refus) as full:
                client.inscrire(seance, b)
            assert full.value.code == "seance_complete", seance
        assert all(client.etat(seance)["inscrits"] == [a] for seance in seances)
    children = shards(small_tree, "reunions")
    assert all(child["loaded"] <= MAX_LOADED for child in children), children
    unloaded = sum(child["unloaded"]["max_loaded"] for child in children)
    assert unloaded >= 4 * SEANCES - len(children) * MAX_LOADED, children
    assert all(child["unloaded"]["idle"] == 0 for child in children)
    text = small_tree.monclub("status").stdout
    assert f"unloaded {children[0]['unloaded']['max_loaded']}" in text
    assert small_tree.monclub("verify").returncode == 0


def test_a_copy_unloaded_for_being_idle_gets_its_reminders_once_each(small_tree, sql):
    (membre,) = add_membres(sql, 1)
    with small_tree.client() as client:
        client.ajouter_livre("dune", "Dune")
        client.emprunter("dune", membre, 1)
    wait_for(lambda: shards(small_tree, "prets")[0]["unloaded"]["idle"] >= 1, 30, "the copy to be unloaded")
    wait_for(lambda: len(reminders(sql, "dune")) == 4, 30, "every reminder")
    assert reminders(sql, "dune") == COMPLETE
