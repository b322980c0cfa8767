"""The séance domain of a Réunions shard: which core function each op calls on the state it is
handed, its reply, and what its events tell their listeners. Pure: no I/O."""

from monclub.contract import protocol
from monclub.errors import Refus, existing
from monclub.reunions import seance as core
from monclub.reunions.ops import OPS


def _existing(seance: core.Seance | None, seance_id: str) -> core.Seance:
    return existing(seance, "seance", seance_id, "seance_inconnue")


class Seances:
    branch = "reunions"
    key = "seance"
    ops = OPS

    def decide(self, seance: core.Seance | None, request: protocol.Request, now: float) -> list:
        """The events of a command on `seance` (None if it does not exist), or raise Refus."""
        args = request.args
        if request.op == "creer":
            if seance is not None:
                raise Refus(f"seance {args['seance']} already exists", "seance_existe")
            return core.creer(
                args["seance"], args["titre"], args["places"], args["attente"], args["tarif"], args.get("quand")
            )
        current = _existing(seance, args["seance"])
        if request.op == "inscrire":
            return core.inscrire(current, args["membre"])
        if request.op == "desinscrire":
            return core.desinscrire(current, args["membre"])
        if request.op == "annuler":
            return core.annuler(current)
        if request.op == "deplacer":
            return core.deplacer(current, args["quand"])
        return core.changer_places(current, args["places"])

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
        if op == "deplacer":
            avant = events[0].avant if events else after.quand
            return {"statut": "deplacee" if events else "inchangee", "avant": avant, "quand": after.quand}
        return {"places": after.places, "promus": promus}

    def query(self, op: str, seance: core.Seance | None, seance_id: str) -> dict:
        current = _existing(seance, seance_id)
        if op == "etat":
            return core.etat(current)
        return {"places_restantes": core.places_restantes(current)}

    def describe(self, event, after: core.Seance) -> tuple[str, dict]:
        return f"seance/{event.seance}", {"titre": after.titre, "tarif": after.tarif}
