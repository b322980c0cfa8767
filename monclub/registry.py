"""The branches and services of the tree, declared once.

Every part that needs the list reads it here: the advisory-lock classes of the owners, the tcp
port offsets, the configuration's sections and the migrations of each branch, the fresh child of
`monclub reload`, the tree's view of its branches and its supervisord program files, the
accueil's `directory` op, the cluster view. A branch names its package (`monclub.<branch>` unless
it says otherwise), its aggregate's key field and the command that shows one; its op table and
shard wiring (`OPS` in `<package>.ops`, `BRANCH` in `<package>.shard`) are imported on demand, so
that this module stays at the bottom of the layers: nothing here imports MonClub.

A branch that lives outside MonClub (docs/architecture.md, "Adding a branch") is registered by
naming its declaration in MONCLUB_BRANCHES (`package.module:NAME`, several separated by commas or
spaces), read once per process: a module of its own that imports only this one (this module
imports it while it loads, so the branch's package `__init__` cannot be it). A name that cannot be
loaded is kept as `PROBLEM`, which the configuration reports (exit 2 for a command, 78 for a
program) instead of a traceback.
"""

import functools
import importlib
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

ENV = "MONCLUB_BRANCHES"
_NAME = re.compile(r"[a-z][a-z0-9_]{0,30}")


@dataclass(frozen=True)
class Branch:
    """An aggregate branch: a supervisor of shard processes that own its partitions. `shards` and
    `partitions` are the defaults of its `[<name>]` section, which `<variables>SHARDS` and
    `<variables>PARTITIONS` override (`MONCLUB_<NAME>_` unless it says otherwise)."""

    name: str
    key: str
    shown_by: str
    lock_class: int
    tcp_offset: int
    shards: int = 2
    partitions: int = 8
    variables: str = ""
    package: str = ""

    @property
    def where(self) -> str:
        """The branch's package: its folder of ops, shard wiring, migrations and program file."""
        return self.package or f"monclub.{self.name}"

    @property
    def env_prefix(self) -> str:
        return self.variables or f"MONCLUB_{self.name.upper()}_"

    @property
    def shard_module(self) -> str:
        return f"{self.where}.shard"

    def wiring(self):
        """The branch's shard wiring (`shards.branch.Branch`), imported on demand."""
        return importlib.import_module(self.shard_module).BRANCH

    def ops(self):
        """The branch's op table (`<package>.ops.OPS`: its declarations), imported once, on
        demand (every request a client routes reads it)."""
        return _op_table(self.where)

    def folder(self) -> Path:
        """The package's directory, where its `migrations/`, `privileges.sql` and `program.conf`
        (its supervisord program block) are, when it has them."""
        return Path(str(resources.files(self.where)))


@dataclass(frozen=True)
class Service:
    """A ROUTER service or socket of the tree that owns no partition."""

    name: str
    tcp_offset: int


BUILT_IN = (
    Branch("reunions", "seance", "monclub seance voir", 0x4D43_0100, 0, shards=4, partitions=16, variables="MONCLUB_"),
    Branch("prets", "livre", "monclub pret voir", 0x4D43_0300, 100, variables="MONCLUB_PRET_"),
)
SERVICES = (Service("accueil", 200), Service("replay", 201), Service("bus-out", 202))
# The tree's other places, whose names a branch may not take (supervisord's programs, `monclub
# drill kill`'s targets): the services above, and these.
OTHER_PLACES = ("supervisord", "postgres", "bus", "relay", "paiements", "notifications", "web")
RELAY_LOCK_CLASS = 0x4D43_0500
LISTENER_LOCK_CLASS = 0x4D43_0200


def _declared(entry: str) -> Branch:
    """The Branch that `module:NAME` (NAME defaults to BRANCH) names, or ValueError saying why not."""
    module, _, attribute = entry.partition(":")
    try:
        found = getattr(importlib.import_module(module), attribute or "BRANCH")
    except (ImportError, AttributeError) as error:
        raise ValueError(f"{entry} cannot be loaded ({error})") from None
    if not isinstance(found, Branch):
        raise ValueError(f"{entry} is not a monclub.registry.Branch")
    return found


def _checked(branches: tuple[Branch, ...]) -> tuple[Branch, ...]:
    """Names, lock classes and tcp offsets are each one branch's (or service's) alone."""
    for branch in branches:
        if not _NAME.fullmatch(branch.name):
            raise ValueError(f"branch name {branch.name!r} must be 1 to 31 of a-z 0-9 _, starting with a letter")
    parts: tuple[Branch | Service, ...] = (*branches, *SERVICES)
    _unique("name", [part.name for part in parts] + list(OTHER_PLACES))
    _unique(
        "lock class",
        [hex(branch.lock_class) for branch in branches] + [hex(RELAY_LOCK_CLASS), hex(LISTENER_LOCK_CLASS)],
    )
    _unique("tcp offset", [str(part.tcp_offset) for part in parts])
    return branches


def _unique(what: str, values: list[str]) -> None:
    taken = sorted({value for value in values if values.count(value) > 1})
    if taken:
        raise ValueError(f"two parts of the tree have the {what} {taken[0]}: give each branch its own")


def _load(value: str) -> tuple[tuple[Branch, ...], str | None]:
    """The built-in branches and those MONCLUB_BRANCHES names, and what is wrong with it if anything."""
    try:
        outside = tuple(_declared(entry) for entry in value.replace(",", " ").split())
        return _checked((*BUILT_IN, *outside)), None
    except ValueError as error:
        return BUILT_IN, f"{ENV}={value!r}: {error}; name each branch's declaration as package.module:NAME"


BRANCHES, PROBLEM = _load(os.environ.get(ENV, ""))
BRANCH_NAMES = tuple(branch.name for branch in BRANCHES)
LOCK_CLASSES = {**{branch.name: branch.lock_class for branch in BRANCHES}, "relay": RELAY_LOCK_CLASS}
PARTS: tuple[Branch | Service, ...] = (*BRANCHES, *SERVICES)
TCP_OFFSETS = {part.name: part.tcp_offset for part in PARTS}


@functools.cache
def _op_table(package: str):
    return importlib.import_module(f"{package}.ops").OPS


def branch(name: str) -> Branch:
    for found in BRANCHES:
        if found.name == name:
            return found
    raise KeyError(f"no branch {name!r}: the branches are {', '.join(BRANCH_NAMES)}")
