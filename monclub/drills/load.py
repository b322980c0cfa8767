"""The drill's load: concurrent clients registering and unregistering, and what they were told.

Each client thread owns its own members, so the operations on one (séance, membre) pair come from
one thread, in order. After the drill, `contradictions` checks every pair's acknowledged outcomes
against the events the database recorded for that pair, in order: each acknowledged change must
be the pair's next event (and nothing else may be), each acknowledged refusal must agree with
the pair's state at that point (deja_inscrit: present; non_inscrit, seance_complete: absent).
unavailable and internal_error must have changed nothing; a timeout may or may not have.

Every call ends by the load's deadline (`start(ends_at)`): a call still unanswered then is a
timeout (outcome unknown), so the load always finishes, even when the tree does not come back.
"""

import bisect
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from monclub.client.sync import Client
from monclub.config import Config
from monclub.db import connect, reads
from monclub.db.membres import creer_membres
from monclub.errors import MonclubError

SEANCES = 6
PLACES, ATTENTE = 10, 4
MEMBRES_PER_CLIENT = 6
DEADLINE = 60.0
LIVRES = 4
LOANS = 0.25
ACKNOWLEDGED = {
    "inscrit",
    "en_attente",
    "desinscrit",
    "deja_inscrit",
    "non_inscrit",
    "seance_complete",
    "emprunte",
    "deja_emprunte",
    "retourne",
    "non_emprunte",
    "non_emprunteur",
}
EVENT_KINDS = {
    "membre_inscrit": "inscrit",
    "membre_mis_en_attente": "en_attente",
    "membre_desinscrit": "desinscrit",
    "membre_promu": "promu",
}


@dataclass
class Outcomes:
    counts: Counter = field(default_factory=Counter)
    history: dict[tuple[str, int], list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    loans: Counter = field(default_factory=Counter)
    unknown_loans: Counter = field(default_factory=Counter)
    answered: list[float] = field(default_factory=list)
    retries: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _count(self, code: str) -> None:
        self.counts[code] += 1
        if code in ACKNOWLEDGED:
            self.answered.append(time.monotonic())

    def record(self, seance: str, membre: int, op: str, code: str) -> None:
        with self.lock:
            self._count(code)
            self.history[(seance, membre)].append((op, code))

    def record_loan(self, livre: str, membre: int, op: str, code: str) -> None:
        with self.lock:
            self._count(code)
            if code == "emprunte":
                self.loans[(livre, membre)] += 1
            elif op == "emprunter" and code == "timeout":
                self.unknown_loans[(livre, membre)] += 1

    @property
    def acknowledged(self) -> int:
        return sum(n for code, n in self.counts.items() if code in ACKNOWLEDGED)

    @property
    def failed(self) -> int:
        """Calls answered without an acknowledged outcome (timeout, unavailable, internal_error…)."""
        with self.lock:
            return sum(n for code, n in self.counts.items() if code not in ACKNOWLEDGED)

    def first_answer_after(self, moment: float) -> float | None:
        """When the first acknowledged operation was answered at or after `moment` (every
        acknowledged operation was committed, refusals included: the service was back then).
        `answered` is in order: each time is read under the lock that appends it."""
        with self.lock:
            index = bisect.bisect_left(self.answered, moment)
            return self.answered[index] if index < len(self.answered) else None


def consistent(ops: list[tuple[str, str]], events: list[str]) -> bool:
    """Can this pair's events be the effect of these acknowledged operations, in order?
    Promotions come from other members' departures: they only require the pair to be waiting."""
    branches = [(0, 0, False)]
    while branches:
        o, e, present = branches.pop()
        while e < len(events) and events[e] == "promu" and present:
            e += 1
        if o == len(ops):
            if e == len(events):
                return True
            continue
        op, code = ops[o]
        nxt = events[e] if e < len(events) else None
        if code in ("inscrit", "en_attente"):
            if nxt == code and not present:
                branches.append((o + 1, e + 1, True))
        elif code == "desinscrit":
            if nxt == code and present:
                branches.append((o + 1, e + 1, False))
        elif code == "deja_inscrit":
            if present:
                branches.append((o + 1, e, True))
        elif code in ("non_inscrit", "seance_complete"):
            if not present:
                branches.append((o + 1, e, False))
        elif code == "timeout":
            branches.append((o + 1, e, present))
            if op == "inscrire" and nxt in ("inscrit", "en_attente") and not present:
                branches.append((o + 1, e + 1, True))
            if op == "desinscrire" and nxt == "desinscrit" and present:
                branches.append((o + 1, e + 1, False))
        else:
            branches.append((o + 1, e, present))
    return False


class Load:
    def __init__(self, config: Config, clients: int, seed: int):
        self.config = config
        self.clients = clients
        self.rng = random.Random(seed)
        self.prefix = f"chaos-{uuid.uuid4().hex[:6]}"
        self.seances = [f"{self.prefix}-{i}" for i in range(SEANCES)]
        self.livres = [f"{self.prefix}-livre-{i}" for i in range(LIVRES)]
        self.outcomes = Outcomes()
        self.membres: list[int] = []
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.ends_at = float("inf")

    def prepare(self) -> None:
        """Members and séances of this drill (half of them paid, small, with waiting lists)."""
        count = self.clients * MEMBRES_PER_CLIENT
        with connect(self.config.conninfo(), autocommit=True) as conn:
            self.membres = creer_membres(conn, self.prefix, count)
        with Client(self.config, deadline=DEADLINE) as client:
            for i, seance in enumerate(self.seances):
                client.creer(
                    seance, f"Chaos {i} ({self.prefix})", places=PLACES, attente=ATTENTE, tarif=500 if i % 2 else 0
                )
            for livre in self.livres:
                client.ajouter_livre(livre, f"Livre {livre}")

    def left_behind(self) -> dict[str, int]:
        """What the drill leaves in the instance, all named after its prefix: séance and livre
        ids, membre names (MonClub never deletes membres, and the audit needs the rest)."""
        return {"seances": len(self.seances), "livres": len(self.livres), "membres": len(self.membres)}

    def start(self, ends_at: float) -> None:
        """Start the clients; every call they make ends by `ends_at` (time.monotonic())."""
        self.ends_at = ends_at
        for index in range(self.clients):
            own = self.membres[index :: self.clients]
            thread = threading.Thread(target=self._work, args=(own, self.rng.randrange(2**32)), daemon=True)
            thread.start()
            self.threads.append(thread)

    def finish(self, grace: float = 5.0) -> int:
        """Stop the clients; how many were still running `grace` seconds past the deadline."""
        self.stop.set()
        for thread in self.threads:
            thread.join(max(0.0, self.ends_at + grace - time.monotonic()))
        return sum(thread.is_alive() for thread in self.threads)

    def _time_left(self, client: Client) -> bool:
        """Bound the client's next call by the load's deadline; False once it has passed."""
        client.deadline = min(DEADLINE, self.ends_at - time.monotonic())
        return client.deadline > 0

    def _work(self, membres: list[int], seed: int) -> None:
        rng = random.Random(seed)
        with Client(self.config, deadline=DEADLINE) as client:
            while not self.stop.is_set() and self._time_left(client):
                if rng.random() < LOANS:
                    self._loan(client, rng, rng.choice(membres))
                    continue
                seance, membre = rng.choice(self.seances), rng.choice(membres)
                registering = rng.random() < 0.5
                op = "inscrire" if registering else "desinscrire"
                try:
                    code = getattr(client, op)(seance, membre)["statut"]
                except MonclubError as error:
                    code = error.code
                self.outcomes.record(seance, membre, op, code)
            with self.outcomes.lock:
                self.outcomes.retries += client.retries

    def _loan(self, client: Client, rng: random.Random, membre: int) -> None:
        """Borrow or return one of the drill's copies, which every client competes for."""
        livre, op = rng.choice(self.livres), rng.choice(("emprunter", "retourner"))
        try:
            if op == "emprunter":
                code = client.emprunter(livre, membre, 30)["statut"]
            else:
                code = client.retourner(livre, membre)["statut"]
        except MonclubError as error:
            code = error.code
        self.outcomes.record_loan(livre, membre, op, code)

    def loan_contradictions(self, conn) -> list[str]:
        """Acknowledged loans missing from the database, or loans nobody was told about."""
        rows = reads.prets_par_paire(conn, self.livres)
        found = []
        for pair in sorted(set(rows) | set(self.outcomes.loans)):
            told, unknown, stored = self.outcomes.loans[pair], self.outcomes.unknown_loans[pair], rows.get(pair, 0)
            if not told <= stored <= told + unknown:
                found.append(f"loans of {pair[0]} to membre {pair[1]}: {told} acknowledged, {stored} in the database")
        return found

    def contradictions(self, conn) -> list[str]:
        """Pairs whose acknowledged outcomes the recorded events contradict, and pairs whose
        final presence in the séance differs from what their events say."""
        events: dict[tuple[str, int], list[str]] = defaultdict(list)
        for kind, seance, membre in reads.membre_events(conn, self.seances, list(EVENT_KINDS)):
            events[(seance, membre)].append(EVENT_KINDS[kind])
        present = reads.inscriptions(conn, self.seances)
        found = []
        for pair in sorted(set(self.outcomes.history) | set(events) | present):
            seance, membre = pair
            if not consistent(self.outcomes.history.get(pair, []), events.get(pair, [])):
                found.append(f"acknowledged outcomes of membre {membre} in {seance} contradicted by its events")
            recorded = [kind for kind in events.get(pair, []) if kind != "promu"]
            if (pair in present) != bool(recorded and recorded[-1] != "desinscrit"):
                found.append(f"membre {membre} in {seance}: the séance's rows disagree with its events")
        return found
