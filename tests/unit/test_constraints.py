"""constraints.txt pins every dependency, and scripts/install applies it."""

import re
import tomllib
from importlib import metadata

from monclub.config import CHECKOUT


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def pins() -> dict[str, str]:
    lines = (CHECKOUT / "constraints.txt").read_text().splitlines()
    return {_name(line): line.split("==")[1] for line in lines if line and not line.startswith("#")}


def test_every_declared_dependency_and_its_test_extra_is_pinned():
    project = tomllib.loads((CHECKOUT / "pyproject.toml").read_text())["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    assert {_name(requirement) for requirement in declared} <= set(pins())


def test_the_virtualenv_holds_exactly_the_pinned_versions():
    assert {name: metadata.version(name) for name in pins()} == pins()
