"""What a person does with the club's ops, whatever the tool (the CLI's commands, the web
program's forms): which ops, the fields sent for what they gave, what is shown of a reply.
Each op is known by its declaration (`Op`, `Field` in monclub.contract.protocol), so a new op gets
its command and its form without a line here (docs/architecture.md, "Adding an op")."""

import inspect
from collections.abc import Iterable
from dataclasses import dataclass

from monclub import registry
from monclub.accueil.ops import OPS as ACCUEIL_OPS
from monclub.client.ids import slug
from monclub.contract import protocol
from monclub.tree import status as tree_status


@dataclass(frozen=True)
class Declared:
    """One op as the CLI sees it: its service, its op table's declaration, and for a branch's op
    the key field that routes it (None for the accueil)."""

    service: str
    op: protocol.Op
    key: str | None

    @property
    def words(self) -> tuple[str, ...]:
        """The command's words after `monclub`."""
        if self.op.cli is not None:
            return tuple(self.op.cli.split())
        name = self.op.name.replace("_", "-")
        return (name,) if self.key is None else (self.key, name)


def club_ops(branches: Iterable | None = None) -> list[Declared]:
    """Every op whose command the CLI makes: the club ops of each branch (the registry's, read when
    the CLI starts), the accueil's commands."""
    branches = registry.BRANCHES if branches is None else branches
    found = [Declared(b.name, op, b.key) for b in branches for op in b.ops().club.values()]
    return found + [Declared("accueil", op, None) for op in ACCUEIL_OPS.club.values() if not op.reads]


KINDS = (int, bool, str)


def kind(check: protocol.Check) -> type:
    """A field's type: what its check returns (`int` for counts and row ids, `bool`, else `str`)."""
    returned = inspect.signature(check).return_annotation
    return returned if returned in KINDS else str


def sent_fields(op: protocol.Op, given: dict, config) -> dict:
    """The fields to send, in the declared order: what the user gave, and for what was left out its
    default from the configuration or made from another field."""
    sent = {}
    for name, declared in op.fields.items():
        field = protocol.field(declared)
        sent[name] = given.get(name)
        if sent[name] is None and isinstance(field.default, protocol.Slug):
            sent[name] = slug(given[field.default.source])
        elif sent[name] is None and not field.required:
            sent[name] = field.sent_when_left_out(config)
    return sent


def answer_of(declared: Declared, sent: dict, result: dict, config) -> object:
    """What the command shows of a reply: a reply of one map is that map; a branch's query adds
    the owner of its aggregate."""
    reply = declared.op.reply
    if len(reply) == 1 and isinstance(result.get(reply[0]), dict):
        return result[reply[0]]
    if declared.key is not None and declared.op.reads:
        return {**result, "owner": tree_status.owner(config, declared.service, sent[declared.key])}
    return result
