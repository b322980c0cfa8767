"""The Réunions branch: the séance domain on the generic shard host, on its PostgreSQL store."""

from monclub.reunions.domain import Seances
from monclub.reunions.store import SeanceStore
from monclub.shards.branch import Branch, postgres_owner
from monclub.shards.owner import Owner


def seance_owner(partition: int, conninfo: str, fault: str | None = None, node: str | None = None) -> Owner:
    """The owner of one séance partition (the tests drive it without a process around it)."""
    return postgres_owner(Seances(), SeanceStore, partition, conninfo, fault, node)


BRANCH = Branch("reunions", lambda config: Seances(), SeanceStore)
