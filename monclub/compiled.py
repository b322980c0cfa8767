"""The optional compiled build: the hot modules compiled by mypyc (scripts/install --compiled).

The build is a copy of the whole package in build/compiled/monclub, its hot modules replaced by
extension modules. `MONCLUB_COMPILED=1` makes monclub/__init__.py point the package's path there,
so every submodule (compiled or not) comes from that one copy, never a `.so` beside a newer `.py`;
the environment variable reaches every process MonClub starts. The copy records the fingerprint of
the sources it was made from, and a process refuses to start on a copy whose sources changed
since: stale code fails loudly instead of running.
"""

import hashlib
import os
import sys
from importlib.machinery import ExtensionFileLoader
from pathlib import Path

# The modules compiled, in one place: the shard's path from the socket to PostgreSQL and back.
MODULES = (
    "monclub.cluster.partition",
    "monclub.db.outbox",
    "monclub.db.pipeline",
    "monclub.reunions.domain",
    "monclub.reunions.seance",
    "monclub.reunions.store",
    "monclub.shards.batch",
    "monclub.shards.domain",
    "monclub.shards.host",
    "monclub.shards.lease",
    "monclub.shards.memory",
    "monclub.shards.outcomes",
    "monclub.shards.owner",
    "monclub.shards.server",
    "monclub.shards.shared_commit",
    "monclub.shards.store",
    "monclub.shards.stats",
    "monclub.wire.codec",
    "monclub.wire.stored",
)

SOURCES = Path(__file__).resolve().parent
BUILD = SOURCES.parent / "build" / "compiled"
STAMP = "sources.sha256"


class BuildError(RuntimeError):
    """The compiled build is missing or older than the sources."""


def fingerprint(sources: Path = SOURCES) -> str:
    """Every file of the package by path, size and modification time: stat only, as a process
    pays this at start-up (about 1 ms; hashing the contents cost several times more)."""
    root = str(sources)
    files, folders = [], [root]
    while folders:
        for entry in os.scandir(folders.pop()):
            if entry.is_dir():
                if entry.name != "__pycache__":
                    folders.append(entry.path)
            else:
                status = entry.stat()
                files.append((entry.path[len(root) :], status.st_size, status.st_mtime_ns))
    return hashlib.sha256(repr(sorted(files)).encode()).hexdigest()


def check(build: Path = BUILD, sources: Path = SOURCES) -> Path:
    """The compiled copy of the package in `build`, if it was made from `sources` as they are."""
    try:
        made_from = (build / STAMP).read_text().strip()
    except FileNotFoundError:
        raise BuildError(
            f"MONCLUB_COMPILED=1 but there is no compiled build in {build}: run scripts/install --compiled"
            " (or unset MONCLUB_COMPILED to run pure Python)"
        ) from None
    if made_from != fingerprint(sources):
        raise BuildError(
            f"the compiled build in {build} is older than the sources in {sources}: run scripts/install --compiled"
            " (or unset MONCLUB_COMPILED to run pure Python)"
        )
    return build / "monclub"


def activate(package_path: list[str]) -> None:
    """Point the package at the compiled copy (mypyc's runtime library sits at the build's top)."""
    package_path[:] = [str(check())]
    sys.path.append(str(BUILD))


def running() -> bool:
    """Whether this process runs the compiled build: the hot modules it loaded are extension modules."""
    loaded = [sys.modules[name] for name in MODULES if name in sys.modules]
    return bool(loaded) and all(isinstance(module.__loader__, ExtensionFileLoader) for module in loaded)
