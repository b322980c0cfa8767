"""A Réunions shard: the séance domain on the generic owner, on its PostgreSQL store."""

from monclub.reunions.domain import Seances
from monclub.reunions.store import SeanceStore
from monclub.shards.branch import Branch, postgres_owner
from monclub.shards.owner import Owner


def seance_shard(index: int, shards: int, conninfo: str, fault: str | None = None, node: str | None = None) -> Owner:
    return postgres_owner(Seances(), SeanceStore, index, shards, conninfo, fault, node)


BRANCH = Branch(
    "reunions",
    lambda config: config.shards,
    lambda config, conninfo, index: seance_shard(index, config.shards, conninfo, config.fault, config.node),
)
