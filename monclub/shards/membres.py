"""What an owner knows of the membres its commands name. A collaborator of
`monclub.shards.owner.Owner`.

Membres are never deleted, so one seen to exist is remembered (in the owner's bounded memory:
forgotten when idle or least recently used, it is only looked up again). A membre not seen yet is
taken on trust in a batch, which saves a round trip per new membre: every accepted command writes
its membre into a column that references `membres`, so PostgreSQL checks it in the batch's own
transaction, and a batch naming an unknown one fails and is retried command by command, each
checked first.
"""

from monclub.contract import protocol
from monclub.errors import Refus
from monclub.shards.batch import Batch
from monclub.shards.lease import Lease
from monclub.shards.memory import Memory


class Membres:
    def __init__(self, lease: Lease, memory: Memory) -> None:
        self.lease = lease
        self.memory = memory

    def exists(self, membre: int) -> bool:
        """Whether the membre exists: from memory, else asked of the database (and remembered)."""
        if self.memory.membres.get(membre):
            return True
        if not self.lease.session().membre_exists(membre):
            return False
        self.memory.know([membre])
        return True

    def check(self, batch: Batch, request: protocol.Request) -> None:
        """Before the domain decides a command: its membre must exist, unless the batch takes
        membres on trust; else Refus (`membre_inconnu`)."""
        membre = request.args.get("membre")
        if membre is not None and not batch.trusting and not self.exists(membre):
            raise Refus(f"no membre {membre}", "membre_inconnu")

    def first(self, request: protocol.Request, refus: Refus) -> Refus:
        """A refused command that names an unknown membre says `membre_inconnu`, as a command
        decided alone would."""
        membre = request.args.get("membre")
        if membre is None or refus.code == "membre_inconnu" or self.exists(membre):
            return refus
        return Refus(f"no membre {membre}", "membre_inconnu")
