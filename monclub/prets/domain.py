"""The livre domain of a Prêts shard: which core function each op calls on the state it is
handed, its reply, its timers, and what its events tell their listeners. Pure: no I/O."""

from monclub.contract import protocol
from monclub.errors import Refus, existing
from monclub.prets import pret as core
from monclub.prets.ops import OPS


def _existing(livre: core.Livre | None, livre_id: str) -> core.Livre:
    return existing(livre, "livre", livre_id, "livre_inconnu")


class Livres:
    branch = "prets"
    key = "livre"
    ops = OPS

    def __init__(self, jour_seconds: float, jours: int, rythme: core.Rythme):
        self.jour = jour_seconds
        self.jours = jours
        self.rythme = rythme

    def decide(self, livre: core.Livre | None, request: protocol.Request, now: float) -> list:
        """The events of a command on `livre` (None if it does not exist), or raise Refus."""
        args = request.args
        if request.op == "ajouter":
            if livre is not None:
                raise Refus(f"livre {args['livre']} already exists", "livre_existe")
            return core.ajouter(args["livre"], args["titre"])
        current = _existing(livre, args["livre"])
        if request.op == "emprunter":
            return core.emprunter(current, args["membre"], args["jours"] * self.jour, now)
        if request.op == "retourner":
            return core.retourner(current, args["membre"], now)
        return core.prolonger(current, args["membre"], self.jours * self.jour, now)

    def apply(self, before: core.Livre | None, events: list) -> core.Livre:
        return core.appliquer_tous(before, events)

    def result(self, op: str, events: list, after: core.Livre) -> dict:
        if op == "ajouter":
            return {"livre": core.etat(after)}
        if op == "retourner":
            return {"statut": "retourne", "en_retard": events[0].en_retard}
        return {"statut": "emprunte" if op == "emprunter" else "prolonge", "echeance": after.echeance}

    def query(self, op: str, livre: core.Livre | None, livre_id: str) -> dict:
        return core.etat(_existing(livre, livre_id))

    def describe(self, event, after: core.Livre) -> tuple[str, dict]:
        return f"livre/{event.livre}", {"titre": after.titre}

    def echoir(self, livre: core.Livre, now: float) -> list:
        """The timer events due on `livre` at `now` (reminders of an overdue loan)."""
        return core.echoir(livre, now, self.rythme)
