"""The Prêts branch: the livre domain on the generic shard host, on its PostgreSQL store."""

from monclub.config import Config
from monclub.prets.domain import Livres
from monclub.prets.store import LivreStore
from monclub.shards.branch import Branch, postgres_owner
from monclub.shards.owner import Owner


def livre_owner(config: Config, conninfo: str, partition: int) -> Owner:
    """The owner of one livre partition (the tests drive it without a process around it)."""
    return postgres_owner(Livres(config), LivreStore, partition, conninfo, config.fault, config.node)


BRANCH = Branch("prets", Livres, LivreStore)
