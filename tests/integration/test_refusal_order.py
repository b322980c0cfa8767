"""Which refusal each op answers, and in which order its checks run, pinned case by case (before
the shard host was reshaped, and unchanged since): a command decided alone and the same command at
the end of a batch (where membres are taken on trust and checked by the foreign keys) must answer
the same code, on the in-memory store double as on PostgreSQL."""

from pathlib import Path

import pytest

from monclub.config import Config
from monclub.contract import protocol
from monclub.prets.ops import OPS as LIVRE_OPS
from monclub.prets.shard import livre_domain, livre_owner
from monclub.reunions.domain import Seances
from monclub.reunions.ops import OPS as SEANCE_OPS
from monclub.reunions.shard import seance_owner
from monclub.shards.owner import Owner
from tests.fixtures.memory_store import MemoryDatabase
from tests.fixtures.postgres import add_membres

GHOST = 999_999
# (op, fields, expected code); "A", "B", "C" stand for known membres, "G" for an unknown one.
SEANCE_CASES = [
    ("creer", {"seance": "polar", "titre": "Polar", "places": 1, "attente": 0, "tarif": 0}, "seance_existe"),
    ("inscrire", {"seance": "ghost", "membre": "G"}, "membre_inconnu"),
    ("inscrire", {"seance": "ghost", "membre": "C"}, "seance_inconnue"),
    ("inscrire", {"seance": "polar", "membre": "G"}, "membre_inconnu"),
    ("inscrire", {"seance": "polar", "membre": "A"}, "deja_inscrit"),
    ("inscrire", {"seance": "polar", "membre": "B"}, "deja_inscrit"),
    ("inscrire", {"seance": "polar", "membre": "C"}, "seance_complete"),
    ("inscrire", {"seance": "close", "membre": "G"}, "membre_inconnu"),
    ("inscrire", {"seance": "close", "membre": "C"}, "seance_annulee"),
    ("desinscrire", {"seance": "ghost", "membre": "G"}, "membre_inconnu"),
    ("desinscrire", {"seance": "ghost", "membre": "C"}, "seance_inconnue"),
    ("desinscrire", {"seance": "polar", "membre": "G"}, "membre_inconnu"),
    ("desinscrire", {"seance": "polar", "membre": "C"}, "non_inscrit"),
    ("desinscrire", {"seance": "close", "membre": "C"}, "seance_annulee"),
    ("changer_places", {"seance": "ghost", "places": 3}, "seance_inconnue"),
    ("changer_places", {"seance": "close", "places": 3}, "seance_annulee"),
    ("changer_places", {"seance": "polar", "places": 0}, "places_insuffisantes"),
    ("annuler", {"seance": "ghost"}, "seance_inconnue"),
    ("annuler", {"seance": "close"}, "seance_annulee"),
    ("etat", {"seance": "ghost"}, "seance_inconnue"),
    ("places_restantes", {"seance": "ghost"}, "seance_inconnue"),
]
LIVRE_CASES = [
    ("ajouter", {"livre": "lent", "titre": "Lent"}, "livre_existe"),
    ("emprunter", {"livre": "ghost", "membre": "G", "jours": 3}, "membre_inconnu"),
    ("emprunter", {"livre": "ghost", "membre": "C", "jours": 3}, "livre_inconnu"),
    ("emprunter", {"livre": "lent", "membre": "G", "jours": 3}, "membre_inconnu"),
    ("emprunter", {"livre": "lent", "membre": "C", "jours": 3}, "deja_emprunte"),
    ("retourner", {"livre": "ghost", "membre": "G"}, "membre_inconnu"),
    ("retourner", {"livre": "ghost", "membre": "C"}, "livre_inconnu"),
    ("retourner", {"livre": "free", "membre": "C"}, "non_emprunte"),
    ("retourner", {"livre": "lent", "membre": "C"}, "non_emprunteur"),
    ("retourner", {"livre": "lent", "membre": "G"}, "membre_inconnu"),
    ("prolonger", {"livre": "ghost", "membre": "C"}, "livre_inconnu"),
    ("prolonger", {"livre": "lent", "membre": "C"}, "non_emprunteur"),
    ("prolonger", {"livre": "twice", "membre": "A"}, "deja_prolonge"),
    ("etat", {"livre": "ghost"}, "livre_inconnu"),
]


class Sequence:
    def __init__(self, prefix: str):
        self.prefix, self.count = prefix, 0

    def __call__(self, op: str, ops: protocol.Ops, **fields) -> protocol.Request:
        self.count += 1
        return ops.parse(protocol.request(f"{self.prefix}-{self.count:08d}", op, **fields))


def _membres(fields: dict, known: dict) -> dict:
    return {name: known.get(value, value) if name == "membre" else value for name, value in fields.items()}


def _code(reply: dict) -> str:
    return reply["error"]["code"] if not reply["ok"] else "ok"


def _owner(request, domain, make_shard):
    """The owner on the in-memory double (a unit test) or on PostgreSQL, with four membres."""
    if request.param == "memory":
        membres = [1, 2, 3, 4]
        return Owner(domain, 0, MemoryDatabase(domain, membres=membres).open), membres
    membres = add_membres(request.getfixturevalue("sql"), 4)
    return make_shard(request.getfixturevalue("database")), membres


@pytest.fixture(params=["memory", pytest.param("postgres", marks=pytest.mark.pg)])
def seances(request):
    shard, (a, b, c, spare) = _owner(request, Seances(), lambda database: seance_owner(0, database))
    ask = Sequence("setup")
    for setup in [
        ask("creer", SEANCE_OPS, seance="polar", titre="Polar", places=1, attente=1, tarif=0),
        ask("inscrire", SEANCE_OPS, seance="polar", membre=a),
        ask("inscrire", SEANCE_OPS, seance="polar", membre=b),
        ask("creer", SEANCE_OPS, seance="close", titre="Close", places=3, attente=0, tarif=0),
        ask("annuler", SEANCE_OPS, seance="close"),
        ask("creer", SEANCE_OPS, seance="other", titre="Other", places=100, attente=0, tarif=0),
    ]:
        assert shard.handle(setup)["ok"], setup
    yield shard, {"A": a, "B": b, "C": c, "G": GHOST}, spare
    shard.lease.forget()


@pytest.fixture(params=["memory", pytest.param("postgres", marks=pytest.mark.pg)])
def livres(request):
    config = Config(home=Path("/nonexistent"), pret_shards=1)
    shard, (a, b, c, spare) = _owner(request, livre_domain(config), lambda database: livre_owner(config, database, 0))
    ask = Sequence("setup")
    for setup in [
        ask("ajouter", LIVRE_OPS, livre="lent", titre="Lent"),
        ask("emprunter", LIVRE_OPS, livre="lent", membre=a, jours=3),
        ask("ajouter", LIVRE_OPS, livre="free", titre="Free"),
        ask("ajouter", LIVRE_OPS, livre="twice", titre="Twice"),
        ask("emprunter", LIVRE_OPS, livre="twice", membre=a, jours=3),
        ask("prolonger", LIVRE_OPS, livre="twice", membre=a),
        ask("ajouter", LIVRE_OPS, livre="other", titre="Other"),
    ]:
        assert shard.handle(setup)["ok"], setup
    yield shard, {"A": a, "B": b, "C": c, "G": GHOST}, spare
    shard.lease.forget()


def _refused_alone_and_in_a_batch(shard, ops: protocol.Ops, first: dict, known: dict, op: str, fields: dict) -> list:
    """The code of the command decided alone, and (for a command) at the end of a batch whose
    first command, `first`, is accepted."""
    ask = Sequence("case")
    codes = [_code(shard.handle(ask(op, ops, **_membres(fields, known))))]
    if op not in ops.queries:
        accepted, last = shard.handle_batch(
            [ask(first.pop("op"), ops, **first), ask(op, ops, **_membres(fields, known))]
        )
        assert accepted["ok"]
        codes.append(_code(last))
    return codes


@pytest.mark.parametrize(
    "op, fields, code", SEANCE_CASES, ids=[f"{o}-{f.get('seance')}-{f.get('membre', '')}" for o, f, _ in SEANCE_CASES]
)
def test_seance_refusals_alone_and_in_a_batch(seances, op, fields, code):
    shard, known, spare = seances
    first = {"op": "inscrire", "seance": "other", "membre": spare}
    assert set(_refused_alone_and_in_a_batch(shard, SEANCE_OPS, first, known, op, fields)) == {code}


@pytest.mark.parametrize(
    "op, fields, code", LIVRE_CASES, ids=[f"{o}-{f.get('livre')}-{f.get('membre', '')}" for o, f, _ in LIVRE_CASES]
)
def test_livre_refusals_alone_and_in_a_batch(livres, op, fields, code):
    shard, known, _ = livres
    first = {"op": "ajouter", "livre": f"new-{op}-{len(known)}", "titre": "New"}
    assert set(_refused_alone_and_in_a_batch(shard, LIVRE_OPS, first, known, op, fields)) == {code}
