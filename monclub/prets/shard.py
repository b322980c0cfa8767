"""The livre domain of a Prêts shard: which core function each op calls, its reply, its timers."""

from monclub import protocol
from monclub.config import Config
from monclub.errors import Refus
from monclub.prets import pret as core
from monclub.prets.store import LivreStore
from monclub.shard import Shard


class Livres:
    branch = "prets"
    key = "livre"
    unknown = "livre_inconnu"
    store = LivreStore
    ops = protocol.PRET_OPS
    timers = True

    def __init__(self, config: Config):
        self.jour = config.pret_jour_seconds
        self.jours = config.pret_jours
        self.rythme = core.Rythme(config.relance_seconds, config.relances_max)

    def decide(self, shard: Shard, request: protocol.Request, now: float) -> tuple[core.Livre | None, list]:
        args = request.args
        if request.op == "ajouter":
            if shard.aggregate(args["livre"]) is not None:
                raise Refus(f"livre {args['livre']} already exists", "livre_existe")
            return None, core.ajouter(args["livre"], args["titre"])
        livre = shard.existing(args["livre"])
        membre = shard.membre(args["membre"])
        if request.op == "emprunter":
            return livre, core.emprunter(livre, membre, args["jours"] * self.jour, now)
        if request.op == "retourner":
            return livre, core.retourner(livre, membre, now)
        return livre, core.prolonger(livre, membre, self.jours * self.jour, now)

    def apply(self, before: core.Livre | None, events: list) -> core.Livre:
        return core.appliquer_tous(before, events)

    def result(self, op: str, events: list, after: core.Livre) -> dict:
        if op == "ajouter":
            return {"livre": core.etat(after)}
        if op == "retourner":
            return {"statut": "retourne", "en_retard": events[0].en_retard}
        return {"statut": "emprunte" if op == "emprunter" else "prolonge", "echeance": after.echeance}

    def query(self, op: str, livre: core.Livre) -> dict:
        return core.etat(livre)

    def due(self, store: LivreStore, index: int, now: float) -> list[str]:
        return store.due(now)

    def echoir(self, livre: core.Livre, now: float) -> list:
        return core.echoir(livre, now, self.rythme)


def livre_shard(config: Config, conninfo: str, index: int) -> Shard:
    return Shard(Livres(config), index, config.pret_shards, conninfo, config.fault)
