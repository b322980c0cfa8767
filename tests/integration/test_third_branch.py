"""docs/architecture.md's recipe for a third aggregate branch, proved by the toy branch of
tests/fixtures/casiers: its folder, its registry entry (MONCLUB_BRANCHES), its migration and its
supervisord program block, and no module of `monclub` that names it. The whole tree runs it beside
the two real branches: served through the normal client and the CLI its op table makes, its invariant kept, back from
PostgreSQL after a kill -9 of its shard, shown by `monclub status`."""

import json
import re
from pathlib import Path

from tests.fixtures.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
TOY = {"MONCLUB_BRANCHES": "tests.fixtures.casiers.registration:BRANCH", "PYTHONPATH": str(ROOT)}


def casiers(tree, *args: str) -> tuple[int, str]:
    """One casiers op through the CLI its declarations make (`monclub casier OP ...`, in the tree's
    environment, whose registry has the branch): (exit, the answer, or the refusal's code)."""
    done = tree.monclub("casier", *args, "--json", check=False)
    said = json.loads(done.stdout)
    return done.returncode, said["error"]["code"] if done.returncode else said


def test_a_registered_third_branch_serves_keeps_its_invariant_and_comes_back_from_postgresql(start_tree):
    tree = start_tree(**TOY)
    tree.wait_healthy()
    branch = next(program for program in tree.status()["programs"] if program["name"] == "casiers")
    assert branch["state"] == "running" and [child["name"] for child in branch["children"]] == ["shard-0"]
    assert re.search(r"casiers +pid \d+ +running.*\n│ +[├└]── shard-0 +pid \d+ +running", tree.monclub("status").stdout)

    marie, paul = (json.loads(tree.monclub("membre", "creer", nom, "--json").stdout)["id"] for nom in ("Marie", "Paul"))
    assert casiers(tree, "prendre", "c1", str(marie)) == (0, {"statut": "pris"})
    assert casiers(tree, "prendre", "c1", str(paul)) == (1, "casier_pris")

    killed = json.loads(tree.monclub("drill", "kill", "casiers/shard-0", "--json").stdout)["pid"]
    wait_for(lambda: tree.pids().get("casiers/shard-0") not in (None, killed), 60, "a new casiers shard")
    code, etat = casiers(tree, "etat", "c1")
    assert code == 0 and (etat["casier"], etat["membre"]) == ("c1", marie)
    assert casiers(tree, "prendre", "c1", str(paul)) == (1, "casier_pris")
    assert casiers(tree, "liberer", "c1", str(paul)) == (1, "non_titulaire")
    assert casiers(tree, "liberer", "c1", str(marie)) == (0, {"statut": "libere"})
    assert casiers(tree, "prendre", "c1", str(paul)) == (0, {"statut": "pris"})
