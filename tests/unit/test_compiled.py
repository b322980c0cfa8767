"""The compiled build (monclub/compiled.py): the lane that says it runs it does, and a build older
than the sources is refused."""

import importlib
import os
from importlib.machinery import ExtensionFileLoader

import pytest

from monclub import compiled


def test_the_hot_modules_are_extension_modules_exactly_when_the_compiled_build_is_asked_for():
    asked = os.environ.get("MONCLUB_COMPILED") == "1"
    modules = [importlib.import_module(name) for name in compiled.MODULES]
    kinds = {module.__name__: isinstance(module.__loader__, ExtensionFileLoader) for module in modules}
    assert kinds == dict.fromkeys(compiled.MODULES, asked)
    assert all(module.__file__.endswith(".so" if asked else ".py") for module in modules)
    assert compiled.running() is asked


@pytest.fixture
def made(tmp_path):
    """A package's sources and a build stamped as made from them."""
    sources, build = tmp_path / "monclub", tmp_path / "build"
    (sources / "shards").mkdir(parents=True)
    (sources / "shards" / "host.py").write_text("HOST = 1\n")
    build.mkdir()
    (build / compiled.STAMP).write_text(compiled.fingerprint(sources) + "\n")
    return sources, build


def test_a_build_made_from_the_sources_as_they_are_is_used(made):
    sources, build = made
    assert compiled.check(build, sources) == build / "monclub"


@pytest.mark.parametrize(
    "change",
    [
        lambda sources: (sources / "shards" / "host.py").write_text("HOST = 22\n"),
        lambda sources: os.utime(sources / "shards" / "host.py", ns=(0, 0)),
        lambda sources: (sources / "shards" / "owner.py").write_text(""),
        lambda sources: (sources / "shards" / "host.py").rename(sources / "shards" / "hote.py"),
    ],
    ids=["edited", "touched", "added", "renamed"],
)
def test_a_build_older_than_the_sources_is_refused(made, change):
    sources, build = made
    change(sources)
    with pytest.raises(compiled.BuildError, match="older than the sources.*scripts/install --compiled"):
        compiled.check(build, sources)


def test_a_missing_build_says_how_to_make_it(tmp_path):
    with pytest.raises(compiled.BuildError, match="no compiled build.*scripts/install --compiled"):
        compiled.check(tmp_path / "build", tmp_path)
