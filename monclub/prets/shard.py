"""A Prêts shard: the livre domain on the generic owner, on its PostgreSQL store."""

from monclub.config import Config
from monclub.prets.domain import Livres
from monclub.prets.store import LivreStore
from monclub.shards.branch import Branch, postgres_owner
from monclub.shards.owner import Owner


def livre_shard(config: Config, conninfo: str, index: int) -> Owner:
    return postgres_owner(Livres(config), LivreStore, index, config.pret_shards, conninfo, config.fault, config.node)


BRANCH = Branch("prets", lambda config: config.pret_shards, livre_shard)
