"""The branches and services of the tree, declared once.

Every part that needs the list reads it here: the advisory-lock classes of the owners, the tcp
port offsets, the fresh child of `monclub reload`, the tree's view of its branches, the accueil's
`directory` op, the cluster view. A branch names its aggregate's key field, the command that shows one, and
the modules of its op table and shard wiring (`OPS` in `monclub.<branch>.ops`, `BRANCH` in
`monclub.<branch>.shard`) instead of importing them, so that this module stays at the bottom of the
layers: nothing here imports MonClub.
"""

import functools
import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Branch:
    """An aggregate branch: a supervisor of shard processes that own its partitions."""

    name: str
    key: str
    shown_by: str
    lock_class: int
    tcp_offset: int

    @property
    def shard_module(self) -> str:
        return f"monclub.{self.name}.shard"

    def wiring(self):
        """The branch's shard wiring (`shards.branch.Branch`), imported on demand."""
        return importlib.import_module(self.shard_module).BRANCH

    def ops(self):
        """The branch's op table (`monclub.<branch>.ops.OPS`: its declarations), imported once, on
        demand (every request a client routes reads it)."""
        return _op_table(self.name)


@dataclass(frozen=True)
class Service:
    """A ROUTER service or socket of the tree that owns no partition."""

    name: str
    tcp_offset: int


BRANCHES = (
    Branch("reunions", "seance", "monclub seance voir", lock_class=0x4D43_0100, tcp_offset=0),
    Branch("prets", "livre", "monclub pret voir", lock_class=0x4D43_0300, tcp_offset=100),
)
SERVICES = (Service("accueil", 200), Service("replay", 201), Service("bus-out", 202))
BRANCH_NAMES = tuple(branch.name for branch in BRANCHES)
RELAY_LOCK_CLASS = 0x4D43_0500
LISTENER_LOCK_CLASS = 0x4D43_0200
LOCK_CLASSES = {**{branch.name: branch.lock_class for branch in BRANCHES}, "relay": RELAY_LOCK_CLASS}
TCP_OFFSETS = {part.name: part.tcp_offset for part in (*BRANCHES, *SERVICES)}


@functools.cache
def _op_table(name: str):
    return importlib.import_module(f"monclub.{name}.ops").OPS


def branch(name: str) -> Branch:
    for found in BRANCHES:
        if found.name == name:
            return found
    raise KeyError(f"no branch {name!r}: the branches are {', '.join(BRANCH_NAMES)}")
