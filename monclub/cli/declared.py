"""The CLI's commands of the club's ops, made from their declarations (`Op`, `Field` in
monclub.contract.protocol), so that an op declared in a branch's or the accueil's op table has its
command without a line here: its arguments and options, their types and help, the call through
the client, the one-line errors (`handled`) and `--json` (docs/architecture.md, "Adding an op").

Where an op's command sits: the words of its `cli` declaration, or by default `monclub KEY OP` for
a branch (KEY, the branch's aggregate: `seance`, `livre`; the op's `_` read `-`) and `monclub OP`
for the accueil. A required field is an argument, in the declared order (`SEANCE_ID` for an id),
unless it names its option; a field with a default is an option (`--NAME`, `show_default` for a
plain value; a `Setting` is read from the configuration, a `Slug` made from its source field).

What a command answers: a reply of one map (the séance created, the membre, the paiement) is that
map, and a query of a branch adds the owner of its aggregate as the directory knows it (`seance
voir`). Its text is the op's hook in `texts` (keyed by service and op), or one `name: value` line
per field of the answer. Every branch of monclub.registry gets its commands so, a new one included;
the accueil's queries do not (its listings are read from PostgreSQL by commands written by hand,
its `directory` is the tree's).
"""

import inspect
from collections.abc import Iterable

import click

from monclub.cli.common import emit, handled, json_option, load_config
from monclub.cli.quand import LocalDateTime
from monclub.client.sync import Client
from monclub.club.ops import Declared, answer_of, club_ops, kind, sent_fields
from monclub.club.texts import Text, generic_text
from monclub.contract import protocol

TYPES = {int: click.INT, bool: click.BOOL, str: click.STRING}
TYPED_OTHERWISE: dict[protocol.Check, click.ParamType] = {protocol.quand: LocalDateTime()}
"""The checks whose values a person types otherwise than the wire takes them."""


def click_type(check: protocol.Check) -> click.ParamType:
    """How the command reads a field: as its check's type, or as `TYPED_OTHERWISE` says (the
    check itself, or the one a `nil_or` wraps)."""
    return TYPED_OTHERWISE.get(inspect.unwrap(check)) or TYPES[kind(check)]


def parameters(declared: Declared) -> list[click.Parameter]:
    """The command's arguments, then its options, in the declared order; the `--id` of a creation
    last, after the op's own fields."""
    arguments: list[click.Parameter] = []
    options: list[click.Parameter] = []
    for name, given in declared.op.fields.items():
        field = protocol.field(given)
        read_as = click_type(field.check)
        if field.required and field.option is None:
            suffix = "_ID" if getattr(field.check, "__name__", "").endswith("_id") else ""
            arguments.append(click.Argument([name], type=read_as, metavar=f"{name.upper()}{suffix}"))
            continue
        plain = not field.required and not isinstance(field.default, (protocol.Setting, protocol.Slug))
        option = click.Option(
            [field.option or f"--{name.replace('_', '-')}", name],
            type=read_as,
            required=field.required,
            default=field.default if plain else None,
            show_default=plain and field.default is not None,
            help=field.help or None,
        )
        options.append(option)
    keyed = [option for option in options if option.name == declared.key]
    return arguments + [option for option in options if option.name != declared.key] + keyed


def send(declared: Declared, sent: dict, config) -> dict:
    """The request through MonClub's client: to the shard that owns the aggregate, or the accueil."""
    with Client(config) as client:
        if declared.key is None:
            return client.accueil(declared.op.name, **sent)
        fields = {name: value for name, value in sent.items() if name != declared.key}
        return client.command(declared.service, declared.op.name, sent[declared.key], **fields)


def make_command(declared: Declared, text: Text) -> click.Command:
    @json_option
    @handled
    def run(as_json: bool, **given):
        config = load_config()
        sent = sent_fields(declared.op, given, config)
        answer = answer_of(declared, sent, send(declared, sent, config), config)
        emit(as_json, answer, text(sent, answer))

    command = click.command(declared.words[-1], help=declared.op.doc)(run)
    command.params[:0] = parameters(declared)
    return command


def attach(main: click.Group, texts: dict[tuple[str, str], Text], branches: Iterable | None = None) -> None:
    """Add the command of every club op to `main`, in the groups its words name (a group missing
    is made: a new branch's `monclub KEY`); a command written by hand at the same place is an error."""
    for declared in club_ops(branches):
        *groups, name = declared.words
        parent = main
        for word in groups:
            found = parent.commands.get(word)
            if found is None:
                found = click.Group(word, help=f"The {word} commands ({declared.service}).")
                parent.add_command(found)
            if not isinstance(found, click.Group):
                raise RuntimeError(f"monclub {' '.join(declared.words)}: `{word}` is a command, not a group")
            parent = found
        if name in parent.commands:
            raise RuntimeError(f"monclub {' '.join(declared.words)} is both declared and written by hand")
        parent.add_command(make_command(declared, texts.get((declared.service, declared.op.name), generic_text)))
