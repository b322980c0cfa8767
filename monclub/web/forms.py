"""The pages' forms: a plain POST, then a redirect to a page (Post/Redirect/Get), through the same
exactly-once path as the API.

Every rendered form carries the browser's CSRF token and an idempotency key of its own in hidden
fields (monclub.web.rendering). The key is the request id, as an API's Idempotency-Key is
(`http:KEY`): a form sent twice (a double click, a reload, the back button then send again)
reaches the shard or the accueil with the same request id, is applied once, and gets the first
reply again. The answer or the refusal is said in the CLI's words (monclub.club.texts, the
`error: CODE: message` line) on the page the POST redirects to (`?form=KEY`); the web program keeps the
last OUTCOMES of them in memory (after its restart, sending the form again says it once more).

A form names its op (`/forms/SERVICE/OP`); its fields are the op's declared ones, read as the CLI
reads them (a date-time without offset in the club's zone, monclub.club), and the page to go back
to (`back`).
"""

import hashlib
import inspect
import re
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from monclub.client.ids import slug
from monclub.club.ops import Declared, answer_of, club_ops, kind, sent_fields
from monclub.club.quand import with_offset
from monclub.club.texts import answer_text, refusal_message
from monclub.contract import protocol
from monclub.errors import InvalidField, InvalidRequest, MonclubError
from monclub.web import idempotency
from monclub.web.access import csrf_matches
from monclub.web.problems import Problem
from monclub.web.requests import read_body

OUTCOMES = 1000
HIDDEN = ("csrf", "key", "back")
_BACK = re.compile(r"/(?!/)[A-Za-z0-9_.:/?=&%-]{0,300}")
CREATED = {("reunions", "creer"): "/seances/{id}", ("accueil", "creer_membre"): "/membres/{id}"}
"""After a creation, the page of what was created."""
REUSED = "this form was sent before with other values, and that was applied: reload the page for a new form"
REQUIRED_HERE = {("reunions", "creer"): ("quand",)}
"""Fields the pages require though the op does not: a new séance has a date."""


@dataclass(frozen=True)
class Outcome:
    """What a form's page says of it: applied or refused (`ok`), in the CLI's words (`said`)."""

    ok: bool
    said: str


class Outcomes:
    """The last answers of the forms, by key, for the page each POST redirects to."""

    def __init__(self, size: int = OUTCOMES):
        self.size = size
        self.found: OrderedDict[str, Outcome] = OrderedDict()

    def put(self, key: str, outcome: Outcome) -> None:
        self.found[key] = outcome
        self.found.move_to_end(key)
        while len(self.found) > self.size:
            self.found.popitem(last=False)

    def get(self, key: str | None) -> Outcome | None:
        return None if key is None else self.found.get(key)


def typed(declared: Declared, form: dict[str, str], zone) -> dict:
    """The op's fields from the form's strings, read as the CLI reads them; an empty field is left
    out (its default is sent), a field the op does not take is refused."""
    fields = {name: protocol.field(check) for name, check in declared.op.fields.items()}
    extra = sorted(set(form) - set(fields))
    if extra:
        raise InvalidField(extra[0][:64], f"is not a field of this form (it takes {', '.join(fields)})")
    given = {}
    for name, field in fields.items():
        text = form.get(name, "").strip()
        if not text:
            if field.required or name in REQUIRED_HERE.get((declared.service, declared.op.name), ()):
                raise InvalidField(name, "is required")
            continue
        given[name] = _read(name, field.check, text, zone)
    return given


def _read(name: str, check: protocol.Check, text: str, zone) -> object:
    """A field's value from its text, as the CLI reads it: a number, or a date-time in the club's
    zone when typed without offset; the op's check then judges it."""
    if inspect.unwrap(check) is protocol.quand:
        return with_offset(text, zone)
    if kind(check) is int:
        try:
            return int(text)
        except ValueError:
            raise InvalidField(name, "must be an integer") from None
    return text


def with_id(declared: Declared, given: dict, key: str) -> dict:
    """A creation's id made from its titre and the form's key (as the API does with an
    Idempotency-Key): a resent form names the same séance or copy."""
    for name, check in declared.op.fields.items():
        default = protocol.field(check).default
        if isinstance(default, protocol.Slug) and name not in given:
            source = protocol.titre(default.source, given.get(default.source, ""))
            given = {**given, name: slug(source, hashlib.sha256(key.encode()).hexdigest()[:4])}
    return given


async def send(request: Request, declared: Declared, sent: dict, key: str) -> dict:
    web = request.app.state.web
    request_id = idempotency.request_id(key)
    with web.metrics.command(declared.service, declared.op.name):
        if declared.key is None:
            return await web.client.accueil(declared.op.name, request_id, **sent)
        fields = {name: value for name, value in sent.items() if name != declared.key}
        return await web.client.command(declared.service, declared.op.name, sent[declared.key], request_id, **fields)


async def _form(request: Request) -> dict[str, str]:
    raw = await read_body(request, request.app.state.web.settings.max_body)
    return dict(parse_qsl(raw.decode(errors="replace"), keep_blank_values=True))


def _refused(error: MonclubError) -> str:
    """A refusal in the CLI's words; a form sent again with other values (the back button, a field
    changed, send) in a form's: its key is the request id of what was sent first."""
    return REUSED if error.code == "request_id_reused" else refusal_message(error)


def form_route(declared: Declared) -> Route:
    async def endpoint(request: Request) -> RedirectResponse:
        web = request.app.state.web
        form = await _form(request)
        csrf, key, back = (form.pop(name, None) for name in HIDDEN)
        if not csrf_matches(request.headers, csrf):
            raise Problem("forbidden", "this form's CSRF token does not match this browser's: reload the page")
        if key is None or back is None or not _BACK.fullmatch(back):
            raise InvalidRequest("a form needs its key and the page to go back to (hidden fields of the page)")
        idempotency.checked_key(key)
        try:
            given = with_id(declared, typed(declared, form, web.config.zone), key)
            sent = sent_fields(declared.op, given, web.config)
            answer = answer_of(declared, sent, await send(request, declared, sent, key), web.config)
            outcome = Outcome(True, answer_text(declared.service, declared.op.name, sent, answer))
            created = CREATED.get((declared.service, declared.op.name))
            back = created.format(id=answer["id"]) if created and isinstance(answer, dict) else back
        except MonclubError as error:
            outcome = Outcome(False, f"error: {error.code}: {_refused(error)}")
        web.outcomes.put(key, outcome)
        separator = "&" if "?" in back else "?"
        return RedirectResponse(f"{back}{separator}form={key}", status_code=303)

    return Route(f"/forms/{declared.service}/{declared.op.name}", endpoint, methods=["POST"])


def routes() -> list[Route]:
    """One form route per club op that changes something."""
    return [form_route(declared) for declared in club_ops() if not declared.op.reads]
