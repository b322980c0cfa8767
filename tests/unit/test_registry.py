"""The registry of branches: a branch registered from outside (the toy of tests/fixtures/casiers)
gets its configuration section, its environment variables and its place in the tree, a bad
registration is a one-line configuration error, and nothing in MonClub names the toy."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from monclub import errors, registry

ROOT = Path(__file__).resolve().parents[2]
TOY = "tests.fixtures.casiers.registration:BRANCH"
SHOW = (
    "import json; from monclub import config, registry; c = config.load();"
    "print(json.dumps([registry.BRANCH_NAMES, registry.TCP_OFFSETS['casiers'], registry.LOCK_CLASSES['casiers'],"
    " c.shard_count('casiers'), c.partition_count('casiers'), c.shards, c.pret_partitions]))"
)


def run(*argv: str, **env: str) -> subprocess.CompletedProcess:
    """A process whose registry reads `env` (the registry is read once, when a process imports it)."""
    full = {**os.environ, "PYTHONPATH": str(ROOT), "MONCLUB_HOME": "/tmp/h", **env}
    return subprocess.run([sys.executable, *argv], env=full, capture_output=True, text=True, timeout=60)


def test_a_registered_branch_has_its_section_its_variables_and_its_place(tmp_path):
    settings = tmp_path / "monclub.toml"
    settings.write_text("[casiers]\nshards = 2\npartitions = 6\n[prets]\npartitions = 10\n")
    done = run("-c", SHOW, MONCLUB_BRANCHES=TOY, MONCLUB_CONFIG=str(settings), MONCLUB_CASIERS_PARTITIONS="5")
    assert done.returncode == 0, done.stderr
    names, offset, lock, shards, partitions, reunions_shards, pret_partitions = json.loads(done.stdout)
    assert names == ["reunions", "prets", "casiers"] and (offset, lock) == (300, 0x4D43_0600)
    assert (shards, partitions, reunions_shards, pret_partitions) == (2, 5, 4, 10)


@pytest.mark.parametrize(
    "value, says",
    [
        ("tests.fixtures.nowhere:BRANCH", "cannot be loaded"),
        ("tests.fixtures.casiers.registration:NOTHING", "cannot be loaded"),
        ("tests.fixtures.casiers.casier:Casier", "is not a monclub.registry.Branch"),
        (f"{TOY} {TOY}", "the name casiers"),
        ("monclub.registry:BUILT_IN", "is not a monclub.registry.Branch"),
    ],
)
def test_a_bad_registration_is_a_configuration_error_of_one_line(value, says):
    done = run("-m", "monclub", "status", MONCLUB_BRANCHES=value)
    assert done.returncode == 2
    assert done.stderr.startswith("error: config: MONCLUB_BRANCHES=") and done.stderr.count("\n") == 1
    assert says in done.stderr


def test_without_a_registration_the_branches_are_monclubs_two():
    assert registry.BRANCH_NAMES == ("reunions", "prets") and registry.PROBLEM is None


def test_nothing_in_monclub_names_the_toy_branch():
    """The recipe edits no module of MonClub, nor its supervisord.conf: the toy lives in its folder."""
    files = [path for path in (ROOT / "monclub").rglob("*") if path.is_file() and "__pycache__" not in path.parts]
    naming = [
        path for path in [*files, ROOT / "supervisord.conf"] if "casier" in path.read_bytes().decode(errors="replace")
    ]
    assert files and naming == []


def test_a_branch_declares_new_refusal_codes_beside_monclubs_table():
    from tests.fixtures.casiers import casier

    assert errors.is_refusal(casier.PRIS) and casier.PRIS not in errors.CODES
    with pytest.raises(ValueError, match="MonClub's own"):
        errors.declare("seance_complete")
    with pytest.raises(ValueError, match="unknown error code"):
        errors.Refus("no such code", "casier_inconnu")
