"""The CLI held to the op declarations: every op a club's client sends, of every branch of the
registry and of the accueil, has its `monclub` command, whose arguments and options are the op's
declared fields (names, order, types, required or not, help); the commands the README documents
keep their words; a branch the CLI has never heard of gets its commands by declaring its ops."""

from dataclasses import dataclass
from types import SimpleNamespace

import click
import pytest
from click.testing import CliRunner

from monclub import registry
from monclub.accueil.ops import OPS as ACCUEIL
from monclub.accueil.ops import page
from monclub.cli import declared, main
from monclub.club import ops, texts
from monclub.contract import protocol

SERVICES = [(branch.name, branch.ops(), branch.key) for branch in registry.BRANCHES] + [("accueil", ACCUEIL, None)]
CLUB_OPS = [ops.Declared(name, op, key) for name, table, key in SERVICES for op in table.club.values()]
PAGE = set(page(protocol.row_id))
TYPES = {int: click.INT, bool: click.BOOL, str: click.STRING}


def command_at(words: tuple[str, ...]) -> click.Command | None:
    found: click.Command | None = main
    for word in words:
        found = found.commands.get(word) if isinstance(found, click.Group) else None
    return found


def _name(op: ops.Declared) -> str:
    return f"{op.service}.{op.op.name}"


def _commands(op: ops.Declared) -> list[click.Command]:
    """The op's command, or, for a query whose one field names what to read (the accueil's
    `history`: `seance/ID`, `livre/ID`, `membre/N`), the group's commands written by hand, one per
    kind: `monclub history seance ID`."""
    command = command_at(op.words)
    assert command is not None, f"{op.service} declares {op.op.name}, but there is no `monclub {' '.join(op.words)}`"
    if not isinstance(command, click.Group):
        return [command]
    assert op.op.reads and not op.op.doc, "only a query read by hand may be a group"
    (field,) = set(op.op.fields) - PAGE
    for kind, sub in command.commands.items():
        op.op.fields[field](field, f"{kind}/1")  # each kind is one the field takes
        assert [param.name for param in sub.params if isinstance(param, click.Argument)] == ["key"]
    return list(command.commands.values())


def _fields(command: click.Command) -> list[click.Parameter]:
    return [param for param in command.params if param.name != "as_json"]


@pytest.mark.parametrize("op", CLUB_OPS, ids=_name)
def test_every_club_op_of_every_branch_and_of_the_accueil_has_its_command(op):
    for command in _commands(op):
        assert "--json" in [opt for param in command.params for opt in param.opts]
    command = command_at(op.words)
    if op.op.doc:
        assert command.help == op.op.doc, "the help is the declaration's doc"
    else:
        assert op.service == "accueil" and op.op.reads, "only the listings, written by hand, may have no doc"


@pytest.mark.parametrize("op", [op for op in CLUB_OPS if op.op.doc], ids=_name)
def test_a_commands_arguments_and_options_are_its_declared_fields(op):
    command = command_at(op.words)
    assert command is not None
    params = {param.name: param for param in _fields(command)}
    assert set(params) == set(op.op.fields), "one parameter per declared field, no other"
    arguments = [param.name for param in _fields(command) if isinstance(param, click.Argument)]
    fields = {name: protocol.field(given) for name, given in op.op.fields.items()}
    assert arguments == [name for name, field in fields.items() if field.required and field.option is None]
    for name, field in fields.items():
        param = params[name]
        assert param.type.name == TYPES[ops.kind(field.check)].name, f"{name}: its type is its check's"
        assert param.required == field.required, f"{name}: required as declared"
        if isinstance(param, click.Option):
            assert param.help == (field.help or None), f"{name}: its help is the declaration's"
            assert field.option in (None, *param.opts)


@pytest.mark.parametrize("op", [op for op in CLUB_OPS if not op.op.doc], ids=_name)
def test_a_listing_written_by_hand_takes_its_declared_filters_as_options(op):
    command = command_at(op.words)
    assert command is not None
    if isinstance(command, click.Group):
        assert _commands(op), "a group of commands, one per kind of what its field names"
        return
    filters = {name: given for name, given in op.op.fields.items() if name not in PAGE}
    params = {param.name: param for param in _fields(command)}
    assert set(params) == set(filters), "the listing's fields but its page"
    for name, check in filters.items():
        assert isinstance(params[name], click.Option) and not params[name].required
        assert params[name].type.name == TYPES[ops.kind(check)].name, f"{name}: its type is its check's"


@pytest.mark.parametrize("branch", registry.BRANCHES, ids=lambda branch: branch.name)
def test_the_command_a_branch_says_shows_an_aggregate_is_its_etat(branch):
    """What the client prints when a change's outcome is unknown (`monclub seance voir polar`)."""
    etat = ops.Declared(branch.name, branch.ops().declared["etat"], branch.key)
    assert branch.shown_by == f"monclub {' '.join(etat.words)}"


def test_every_text_hook_is_of_a_declared_club_op():
    assert set(texts.TEXTS) <= {(op.service, op.op.name) for op in CLUB_OPS}


USAGES = {
    "membre creer": "NOM",
    "paiement regler": "PAIEMENT_ID",
    "seance creer": "TITRE",
    "seance places": "SEANCE_ID PLACES",
    "seance annuler": "SEANCE_ID",
    "seance deplacer": "SEANCE_ID QUAND",
    "seance voir": "SEANCE_ID",
    "inscrire": "SEANCE_ID MEMBRE_ID",
    "desinscrire": "SEANCE_ID MEMBRE_ID",
    "livre ajouter": "TITRE",
    "pret emprunter": "LIVRE_ID MEMBRE_ID",
    "pret retourner": "LIVRE_ID MEMBRE_ID",
    "pret prolonger": "LIVRE_ID MEMBRE_ID",
    "pret voir": "LIVRE_ID",
}
OPTIONS = {
    "membre creer": ["--email TEXT"],
    "seance creer": [
        "--places INTEGER   [required]",
        "--attente INTEGER  Size of the waiting list.  [default: 0]",
        "--tarif INTEGER    Price in cents.  [default: 0]",
        "--quand DATE-TIME  When: 2026-12-10T19:00, in the club's time zone.",
        "--id TEXT          The séance's id (default: from the titre).",
    ],
    "livre ajouter": ["--id TEXT  The copy's id (default: from the titre)."],
    "pret emprunter": ["--jours INTEGER  Length of the loan in loan days (default: [prets] jours)."],
}


@pytest.mark.parametrize("words", USAGES)
def test_the_documented_commands_keep_their_arguments_and_options(words):
    shown = CliRunner().invoke(main, [*words.split(), "--help"], prog_name="monclub")
    assert shown.exit_code == 0, shown.output
    assert shown.output.splitlines()[0] == f"Usage: monclub {words} [OPTIONS] {USAGES[words]}"
    options = shown.output.split("Options:\n")[1].splitlines()
    expected = [*OPTIONS.get(words, []), "--json", "--help"]
    assert [line.split()[0] for line in options] == [line.split()[0] for line in expected]
    for line in OPTIONS.get(words, []):
        assert f"  {line}" in shown.output


def test_the_fields_left_out_are_sent_with_their_declared_defaults():
    config = SimpleNamespace(pret_jours=21)
    creer = registry.branch("reunions").ops().declared["creer"]
    sent = ops.sent_fields(creer, {"titre": "Soirée Polar", "places": 2, "attente": 0, "tarif": 0}, config)
    assert list(sent) == list(creer.fields) and sent["seance"].startswith("soiree-polar-")
    given = {"seance": "polar", "titre": "Soirée Polar", "places": 2, "attente": 1, "tarif": 800}
    assert ops.sent_fields(creer, given, config) == {**given, "quand": None}, "no date: nil"
    emprunter = registry.branch("prets").ops().declared["emprunter"]
    assert ops.sent_fields(emprunter, {"livre": "dune", "membre": 1}, config)["jours"] == 21
    assert ops.sent_fields(emprunter, {"livre": "dune", "membre": 1, "jours": 3}, config)["jours"] == 3


@dataclass(frozen=True)
class Jeux:
    """A branch the CLI has never heard of: games lent to the members."""

    name: str = "jeux"
    key: str = "jeu"

    def ops(self) -> protocol.Ops:
        lend = {
            "jeu": protocol.seance_id,
            "membre": protocol.membre_id,
            "jours": protocol.Field(protocol.jours, "Days.", 7),
        }
        return protocol.shard_ops("jeux", protocol.command("preter", lend, doc="Lend a game."))


def test_a_new_branch_gets_its_group_and_commands_from_its_declarations():
    root = click.Group("monclub")
    declared.attach(root, {}, branches=[Jeux()])
    group = root.commands["jeu"]
    assert isinstance(group, click.Group) and set(group.commands) == {"preter"}
    shown = CliRunner().invoke(root, ["jeu", "preter", "--help"], prog_name="monclub")
    assert shown.output.splitlines()[0] == "Usage: monclub jeu preter [OPTIONS] JEU_ID MEMBRE_ID"
    assert "Lend a game." in shown.output and "--jours INTEGER  Days.  [default: 7]" in shown.output
    assert {"membre", "paiement"} <= set(root.commands), "the accueil's commands, in groups made for them"


def test_a_command_both_declared_and_written_by_hand_is_refused():
    root = click.Group("monclub")
    root.add_command(click.Group("seance", commands=[click.Command("creer")]))
    with pytest.raises(RuntimeError, match="monclub seance creer is both declared and written by hand"):
        declared.attach(root, {})


def test_an_op_without_a_text_hook_prints_one_line_per_field_of_its_answer():
    owner = {"partition": 3, "shard": None, "pid": None, "node": None, "epoch": None}
    shown = texts.generic_text({"seance": "polar"}, {"places_restantes": 2, "owner": owner})
    assert shown == "places_restantes: 2\nowner: partition 3, owner unknown (see monclub status)"
