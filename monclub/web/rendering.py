"""One renderer for the pages and for the fragments their streams send (Jinja2 templates, server
side: a page works without JavaScript, and a live update is the same template's HTML).

What every form needs comes from here: the browser's CSRF token (its cookie, set on the first
page it gets) and a fresh idempotency key per rendered form (`form_key()` in a template), so that
a form sent twice is applied once (monclub.web.forms). The club's words are the CLI's: dates in
the club's time zone, amounts with their currency, a payment to settle read `a_regler`.
"""

import uuid
from datetime import datetime
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from monclub.club.quand import heure, local, zone_name
from monclub.tree.status import describe_owner
from monclub.web import tree_view
from monclub.web.access import CSRF_COOKIE, cookie, csrf_token
from monclub.words import compte, montant, paiement_statut

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["form_key"] = lambda: uuid.uuid4().hex
templates.env.filters.update(heure=heure, montant=montant, compte=compte, paiement_statut=paiement_statut)


def saisie(quand: str | None, zone) -> str:
    """A date-time as a datetime-local field shows it, in the club's time zone (`2026-12-10T19:00`)."""
    return "" if quand is None else local(quand, zone).strftime("%Y-%m-%dT%H:%M")


def echeance(epoch: float | None, zone) -> str:
    """A due date in the club's time zone, as `heure` writes a séance's."""
    return "-" if epoch is None else heure(datetime.fromtimestamp(epoch).astimezone().isoformat(), zone)


def moment(at: str, zone) -> str:
    """An event's time (RFC 3339) in the club's time zone: `19:02:11`."""
    return datetime.fromisoformat(at).astimezone(zone).strftime("%H:%M:%S")


templates.env.filters.update(moment=moment, saisie=saisie, echeance=echeance, owner=describe_owner, **tree_view.FILTERS)


def context(request: Request, page: str, **found) -> dict:
    """What every template gets: the page's name, the club's zone, the browser's CSRF token, the
    settings the header needs."""
    web = request.app.state.web
    zone = web.config.zone
    return {
        "page": page,
        "zone": zone,
        "zone_label": zone_name(zone),
        "csrf": csrf_token(request.headers),
        "actions": web.settings.actions,
        **found,
    }


def render(request: Request, name: str, found: dict, status: int = 200) -> Response:
    """A whole page; a browser without a CSRF cookie gets the one its forms carry."""
    answer = templates.TemplateResponse(request, name, found, status_code=status)
    if cookie(request.headers, CSRF_COOKIE) != found["csrf"]:
        answer.set_cookie(
            CSRF_COOKIE, found["csrf"], httponly=True, samesite="strict", secure=request.url.scheme == "https"
        )
    return answer


def fragment(name: str, found: dict) -> str:
    """The HTML of one part of a page, for its stream: the same template the page includes."""
    return templates.get_template(name).render(found)


def fragments(name: str, found: dict, macros: tuple[str, ...]) -> list[str]:
    """The HTML of several parts of a page, for its stream: the macros of the template that the
    page calls where each part goes (each part parses alone, a table's body included)."""
    module = templates.get_template(name).make_module(found)
    return [str(getattr(module, macro)()) for macro in macros]


def part(name: str, found: dict, macro: str, *args) -> str:
    """The HTML of one macro of a template, called with `args` (an events page's new row)."""
    return str(getattr(templates.get_template(name).make_module(found), macro)(*args))
