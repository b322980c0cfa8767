"""The Prêts branch: the livre domain on the generic shard host, on its PostgreSQL store."""

from monclub.config import Config
from monclub.prets.domain import Livres
from monclub.prets.pret import Rythme
from monclub.prets.store import LivreStore
from monclub.shards.branch import Branch, postgres_owner
from monclub.shards.owner import Owner


def livre_domain(config: Config) -> Livres:
    """The livre domain with this configuration's loan days and reminders."""
    return Livres(config.pret_jour_seconds, config.pret_jours, Rythme(config.relance_seconds, config.relances_max))


def livre_owner(config: Config, conninfo: str, partition: int) -> Owner:
    """The owner of one livre partition (the tests drive it without a process around it)."""
    return postgres_owner(livre_domain(config), LivreStore, partition, conninfo, config.fault, config.node)


BRANCH = Branch("prets", livre_domain, LivreStore)
