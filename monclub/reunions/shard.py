"""The séance domain of a Réunions shard: which core function each op calls, and its reply."""

from monclub import protocol
from monclub.errors import Refus
from monclub.reunions import seance as core
from monclub.reunions.store import SeanceStore
from monclub.shard import Shard


class Seances:
    branch = "reunions"
    key = "seance"
    unknown = "seance_inconnue"
    store = SeanceStore
    ops = protocol.OPS
    timers = False

    def decide(self, shard: Shard, request: protocol.Request, now: float) -> tuple[core.Seance | None, list]:
        args = request.args
        if request.op == "creer":
            if shard.aggregate(args["seance"]) is not None:
                raise Refus(f"seance {args['seance']} already exists", "seance_existe")
            return None, core.creer(args["seance"], args["titre"], args["places"], args["attente"], args["tarif"])
        current = shard.existing(args["seance"])
        if request.op == "inscrire":
            return current, core.inscrire(current, shard.membre(args["membre"]))
        if request.op == "desinscrire":
            return current, core.desinscrire(current, shard.membre(args["membre"]))
        if request.op == "annuler":
            return current, core.annuler(current)
        return current, core.changer_places(current, args["places"])

    def apply(self, before: core.Seance | None, events: list) -> core.Seance:
        return core.appliquer_tous(before, events)

    def result(self, op: str, events: list, after: core.Seance) -> dict:
        if op == "creer":
            return {"seance": core.etat(after)}
        if op == "inscrire":
            first = events[0]
            if isinstance(first, core.MembreMisEnAttente):
                return {"statut": "en_attente", "position": first.position}
            return {"statut": "inscrit"}
        promus = [e.membre for e in events if isinstance(e, core.MembrePromu)]
        if op == "desinscrire":
            return {"statut": "desinscrit", "promu": promus[0] if promus else None}
        if op == "annuler":
            return {"statut": "annulee", "inscrits": list(events[0].inscrits), "attente": list(events[0].attente)}
        return {"places": after.places, "promus": promus}

    def query(self, op: str, seance: core.Seance) -> dict:
        if op == "etat":
            return core.etat(seance)
        return {"places_restantes": core.places_restantes(seance)}


def seance_shard(index: int, shards: int, conninfo: str, fault: str | None = None) -> Shard:
    return Shard(Seances(), index, shards, conninfo, fault)
