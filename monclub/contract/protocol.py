"""Requests and replies of the shards (docs/protocol.md is the reference): the envelope, the
field checks every branch shares, and the parsing of a request against a branch's op table.
Pure: the bytes are monclub.wire's (the codec, and the fingerprint stored with each reply).

A request is a map {"v": 1, "id": request id, "op": name, ...fields}; a reply is
{"v": 1, "id": request id, "ok": true, "result": {...}} or
{"v": 1, "id": request id, "ok": false, "error": {"code": ..., "message": ...}}.
"""

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from monclub.errors import InvalidField, InvalidRequest

VERSION = 1
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_REQUEST_ID = re.compile(r"^[\x21-\x7e]{8,128}$")
MAX_COUNT = 100_000
MAX_CENTS = 100_000_000
MAX_ROW_ID = 2**63 - 1
MAX_TITRE = 200
MAX_NOM = 200
MAX_EMAIL = 254
MAX_JOURS = 365
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"[\x21-\x3f\x41-\x7e]{{1,64}}@{_LABEL}(?:\.{_LABEL})*")
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:[Zz]|[+-]\d\d:\d\d)")
QUAND_RULE = "must be an RFC 3339 date-time with its offset, like 2026-12-10T19:00:00+01:00"


def seance_id(name: str, value) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise InvalidField(name, "must be 1 to 64 characters of A-Z a-z 0-9 _ . : -")
    return value


def _text(name: str, value, longest: int) -> str:
    """Printable text of 1 to `longest` characters (not only spaces), valid UTF-8."""
    if isinstance(value, str) and not _utf8(value):
        raise InvalidField(name, "is not valid UTF-8 (an argument in another encoding?)")
    if not isinstance(value, str) or not value.strip() or len(value) > longest or not value.isprintable():
        raise InvalidField(name, f"must be a non-empty printable string of at most {longest} characters")
    return value


def _utf8(value: str) -> bool:
    """False for the lone surrogates that stand for undecodable bytes (os.fsdecode's surrogateescape)."""
    try:
        value.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def titre(name: str, value) -> str:
    return _text(name, value, MAX_TITRE)


def nom(name: str, value) -> str:
    """A membre's name (the membres table holds 1 to 200 characters)."""
    return _text(name, value, MAX_NOM)


def email(name: str, value) -> str:
    """An address an SMTP server takes: local@domain, ASCII, no space nor control character."""
    if not isinstance(value, str) or len(value) > MAX_EMAIL or not _EMAIL.fullmatch(value):
        raise InvalidField(name, f"must be an address like marie@example.org, at most {MAX_EMAIL} characters")
    return value


def _integer(name: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidField(name, f"must be an integer from {low} to {high}")
    return value


def count(name: str, value) -> int:
    return _integer(name, value, 0, MAX_COUNT)


def cents(name: str, value) -> int:
    return _integer(name, value, 0, MAX_CENTS)


def membre_id(name: str, value) -> int:
    return row_id(name, value)


def row_id(name: str, value) -> int:
    """A database id (bigint, from 1)."""
    return _integer(name, value, 1, MAX_ROW_ID)


def livre_id(name: str, value) -> str:
    return seance_id(name, value)


def aggregate(name: str, value) -> str:
    """Whose history: `seance/ID`, `livre/ID` (ids as `seance_id` checks them) or `membre/N` (a
    member id)."""
    kind, _, key = value.partition("/") if isinstance(value, str) else ("", "", "")
    if kind in ("seance", "livre") and _ID.fullmatch(key):
        return value
    if kind == "membre" and key.isdigit() and not key.startswith("0") and int(key) <= MAX_ROW_ID:
        return value
    raise InvalidField(name, "must be seance/ID, livre/ID (1 to 64 characters of A-Z a-z 0-9 _ . : -) or membre/N")


def jours(name: str, value) -> int:
    return _integer(name, value, 1, MAX_JOURS)


def quand(name: str, value) -> str:
    """When a séance takes place: an RFC 3339 date-time with its offset (`Z` for UTC; seconds
    required, a fraction down to the microsecond as PostgreSQL's timestamptz keeps), answered in
    the one form `instant` gives, so that two requests naming the same instant carry the same
    value whatever offset each was written with."""
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise InvalidField(name, QUAND_RULE)
    try:
        return instant(datetime.fromisoformat(value.upper().replace(" ", "T")))
    except (ValueError, OverflowError):
        raise InvalidField(name, QUAND_RULE) from None


def instant(moment: datetime) -> str:
    """An aware datetime in its one RFC 3339 form, in UTC: `2026-12-10T18:00:00Z` (the wire's,
    the events', every JSON's; the text output shows it in the club's time zone)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


Check = Callable[[str, object], object]


def nil_or(check: Check) -> Check:
    """`check`, or nil (with the check's signature: its type is the field's)."""

    @functools.wraps(check)
    def checked(name: str, value):
        return None if value is None else check(name, value)

    return checked


class Request(NamedTuple):
    """A request as its op table checked it: one per command, a named tuple (made at C speed; a
    frozen dataclass sets each field through object.__setattr__)."""

    id: str
    op: str
    args: dict
    mutates: bool = True


REQUIRED = object()
"""The default of a field nobody may leave out."""


@dataclass(frozen=True)
class Setting:
    """A field's default that is a setting of the client's configuration (`Config.<name>`): the
    loan days of `emprunter` are the node's `[prets] jours`."""

    name: str


@dataclass(frozen=True)
class Slug:
    """A field's default that the client makes from another field (monclub.client.ids.slug): the id
    of a séance or copy created without one, from its titre."""

    source: str


@dataclass(frozen=True)
class Field:
    """A field as a person gives it: its check, one line of help, and what a client sends when its
    user leaves the field out (`default`: a value, a `Setting`, a `Slug`, or REQUIRED). The wire
    knows none of this (every field is required there, and the parser calls the check alone): the
    CLI reads it to make the op's command, where a field with a default is an option, a required
    one an argument unless it names its `option` (`--places`, the `--id` of a creation)."""

    check: Check
    help: str = ""
    default: object = REQUIRED
    option: str | None = None

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def sent_when_left_out(self, config) -> object:
        """What a client sends for this field when its user gives none: the plain default, or the
        `Setting` read from `config`. A `Slug` is made by the client; a required field has none."""
        return getattr(config, self.default.name) if isinstance(self.default, Setting) else self.default

    def __call__(self, name: str, value) -> object:
        return self.check(name, value)


def field(check: Check) -> Field:
    """A declared field as a `Field`: a bare check is a required field without help."""
    return check if isinstance(check, Field) else Field(check)


@dataclass(frozen=True)
class Op:
    """One op, declared once: its fields with their checks (in the order they are checked), whether
    it only reads, the refusals it may answer besides those every op shares (invalid_request,
    wrong_owner, unavailable, internal_error: docs/protocol.md §5), the fields of its result, one
    line saying what it does (`doc`), and the words of its `monclub` command when they are not the
    default ones (`cli`; docs/architecture.md, "Adding an op"). The shard's parser, the clients'
    routing, the CLI, the web's routes and metrics, and the test of docs/protocol.md read it.
    `omissible`: the fields a message may leave out, each meaning what its nil means; fields added
    to an op after clients that do not send them (`creer`'s `quand`), every other field being
    required on the wire."""

    name: str
    fields: dict[str, Check]
    reads: bool = False
    refusals: tuple[str, ...] = ()
    reply: tuple[str, ...] = ()
    doc: str = ""
    cli: str | None = None
    omissible: tuple[str, ...] = ()


def command(name: str, fields: dict[str, Check], refusals=(), reply=(), **about: Any) -> Op:
    """An op that changes something: recorded under its request id, refusals included. `about`:
    its `doc`, `cli` and `omissible` (Op)."""
    return Op(name, fields, False, tuple(refusals), tuple(reply), **about)


def query(name: str, fields: dict[str, Check], refusals=(), reply=(), **about: Any) -> Op:
    """An op that only reads: never recorded."""
    return Op(name, fields, True, tuple(refusals), tuple(reply), **about)


SHARD_PING = query(
    "ping", {}, reply=("shard", "pid", "compiled", "loaded", "handled", "waiting", "partitions", "stats")
)
SERVICE_PING = query("ping", {}, reply=("service", "pid", "handled"))
DIRECTORY = query("directory", {}, reply=("branch", "partitions", "owners"))
OWN = frozenset({SHARD_PING.name, DIRECTORY.name})
"""The ops about a process rather than the club (what it hosts, where the partitions live): the
tree's tools send them, not the club's clients."""


@dataclass(frozen=True)
class Ops:
    """A service's op table (a branch's shards, the accueil, the replay): its declared ops."""

    service: str
    declared: dict[str, Op]

    @property
    def fields(self) -> dict[str, dict[str, Check]]:
        return {name: op.fields for name, op in self.declared.items()}

    @property
    def club(self) -> dict[str, Op]:
        """The ops a club's client sends: all but the process's own (`OWN`)."""
        return {name: op for name, op in self.declared.items() if name not in OWN}

    @property
    def queries(self) -> frozenset[str]:
        return frozenset(name for name, op in self.declared.items() if op.reads)

    def parse(self, message: dict) -> Request:
        return parse_request(message, self)


def ops(service: str, *declared: Op) -> Ops:
    """A service's op table (the accueil, the replay): it also answers `ping`, a query with no
    field."""
    return Ops(service, {op.name: op for op in (SERVICE_PING, *declared)})


def shard_ops(branch: str, *declared: Op) -> Ops:
    """A shard process's op table: its `ping` says what the process hosts, and `directory` where
    every partition of the branch lives (docs/protocol.md §2)."""
    return Ops(branch, {op.name: op for op in (SHARD_PING, DIRECTORY, *declared)})


def is_version(value) -> bool:
    return type(value) is int and value == VERSION


def request_id_of(message: dict) -> str | None:
    """The request id if it is well formed, so that even a refusal can name it."""
    value = message.get("id")
    return value if isinstance(value, str) and _REQUEST_ID.fullmatch(value) else None


def parse_request(message: dict, table: Ops) -> Request:
    if not is_version(message.get("v")):
        raise InvalidRequest(f"field 'v' must be the integer {VERSION} (protocol version)")
    rid = request_id_of(message)
    if rid is None:
        raise InvalidRequest("field 'id' must be 8 to 128 printable ASCII characters, unique per request")
    op = message.get("op")
    if not isinstance(op, str) or op not in table.declared:
        raise InvalidRequest(f"field 'op' must be one of {', '.join(sorted(table.declared))}")
    declared = table.declared[op]
    fields = declared.fields
    extra = set(message) - set(fields) - {"v", "id", "op"}
    if extra:
        raise InvalidRequest(f"op {op!r} takes no field {sorted(extra)[0]!r}")
    missing = [name for name in fields if name not in message and name not in declared.omissible]
    if missing:
        raise InvalidRequest(f"op {op!r} needs field {missing[0]!r}")
    args = {name: check(name, message.get(name)) for name, check in fields.items()}
    if declared.omissible:
        # Left out or nil alike, and absent from the arguments: the request keeps the fingerprint
        # it had before the field existed (a resend across an upgrade is still the same request).
        args = {name: value for name, value in args.items() if value is not None or name not in declared.omissible}
    return Request(rid, op, args, not declared.reads)


def request(request_id: str, op: str, **fields) -> dict:
    return {"v": VERSION, "id": request_id, "op": op, **fields}


def ok(request_id: str | None, result: dict, epoch: int | None = None) -> dict:
    """A success; `epoch`: the epoch at which the partition's owner decided it (docs/protocol.md §6)."""
    if epoch is None:
        return {"v": VERSION, "id": request_id, "ok": True, "result": result}
    return {"v": VERSION, "id": request_id, "ok": True, "result": result, "epoch": epoch}


def error(request_id: str | None, code: str, message: str, epoch: int | None = None, **details) -> dict:
    """A refusal; `epoch` as for `ok` (a refusal of the domain); `details` add fields to the
    error map (`wrong_owner`'s `owner`)."""
    reply = {"v": VERSION, "id": request_id, "ok": False, "error": {"code": code, "message": message, **details}}
    return reply if epoch is None else {**reply, "epoch": epoch}
