"""Who may use the web program, and the headers every answer carries.

On loopback without a token, anybody on this machine may read and send commands (as with the
CLI). Bound beyond loopback, every request needs the token: an `Authorization: Bearer` header, or
the cookie that POST /login sets from it. A kill button needs the token in the header (never the
cookie) and, when the browser sends one, an Origin of this very server: another site's page can
neither read the token nor send that header, so it cannot forge the POST (CSRF-safe).

Before any of that, on loopback too, two checks that no browser can get around:
- the Host header must name this server (`hosts`): a page whose own name resolves to 127.0.0.1
  (DNS rebinding) would otherwise read and write the club as same-origin (421);
- a request that may change something (any method but GET, HEAD, OPTIONS) is refused when the
  browser says it comes from another page (`cross_site`: an Origin other than this server, or
  Sec-Fetch-Site cross-site or same-site), and the API takes only application/json bodies (415),
  which another site's page cannot send without a CORS preflight that this server never grants.
Clients that are not browsers send neither Origin nor Sec-Fetch-Site, and keep working.
"""

import functools
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monclub.web.problems import body
from monclub.web.settings import WebSettings

COOKIE = "monclub_session"
CSRF_COOKIE = "monclub_csrf"
CSRF_BYTES = 24
_CSRF = re.compile(r"[A-Za-z0-9_-]{32}")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FOREIGN_FETCH_SITES = frozenset({"cross-site", "same-site"})
JSON = "application/json"
OPEN_PATHS = ("/login", "/static/")
MACHINE_PATHS = ("/api/", "/live/", "/metrics")
"""Paths that programs and scripts read: a missing token is a 401 there, and a page or a form is
sent to /login instead."""
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    # same-origin, not no-referrer: under no-referrer Chromium sends `Origin: null` with a form's
    # POST, which the cross-site check must refuse; same-origin keeps the page's own Origin and
    # still tells no other site where its links were followed from.
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


def same(given: str | None, token: str | None) -> bool:
    return given is not None and token is not None and hmac.compare_digest(given.encode(), token.encode())


def bearer(headers: Headers) -> str | None:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def cookie(headers: Headers, wanted: str) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == wanted:
            return value
    return None


def session(token: str) -> str:
    """The login cookie's value: derived from the token, never the token itself, so that a cookie
    that leaks is no Authorization header (and changing the token logs every browser out)."""
    return hmac.new(token.encode(), b"monclub web session", hashlib.sha256).hexdigest()


def authorized(headers: Headers, settings: WebSettings) -> bool:
    """May this request read and send commands, on a server bound beyond loopback?"""
    if settings.token is None:
        return False
    return same(bearer(headers), settings.token) or same(cookie(headers, COOKIE), session(settings.token))


def csrf_token(headers: Headers) -> str:
    """The CSRF token of this browser (its cookie), or a new one. Every form of the
    pages carries it in a hidden field and the POST must match the cookie (a double-submit
    token): another site's page can neither read this cookie nor, SameSite=Strict, send it."""
    found = cookie(headers, CSRF_COOKIE)
    return found if found and _CSRF.fullmatch(found) else secrets.token_urlsafe(CSRF_BYTES)


def csrf_matches(headers: Headers, given: str | None) -> bool:
    return same(given, cookie(headers, CSRF_COOKIE))


def may_act(headers: Headers, settings: WebSettings) -> bool:
    """May this request press a kill button? The token in the header (the Guard has already
    refused a foreign Origin)."""
    return settings.actions and same(bearer(headers), settings.token)


@functools.cache
def hosts(settings: WebSettings, port: int) -> frozenset[str]:
    """The Host headers this server answers: its loopback names when it listens there, its bind
    address, and the `[web] hosts` names, each with the port (or without it, for port 80)."""
    names = {*settings.hosts}
    if settings.loopback or settings.unspecified:
        names |= {"127.0.0.1", "localhost", "[::1]"}
    if not settings.unspecified:
        names.add(f"[{settings.bind}]" if ":" in settings.bind else settings.bind)
    found = {f"{name}:{port}" for name in names}
    return frozenset(found | names if port == 80 else found)


def misdirected(headers: Headers, allowed: frozenset[str]) -> dict | None:
    host = headers.get("host", "").lower()
    if host in allowed:
        return None
    detail = f"this server does not answer for Host {host[:100]!r}: use {min(allowed)}, or add the name to [web] hosts"
    return body("misdirected_request", detail)


def foreign(headers: Headers) -> dict | None:
    """Why a request that changes something comes from another site's page, or None."""
    origin = headers.get("origin")
    if origin is not None and origin.split("://", 1)[-1].lower() != headers.get("host", "").lower():
        return body("cross_site", f"a request from another origin ({origin[:100]}) may not change anything here")
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site in FOREIGN_FETCH_SITES:
        detail = f"a request from another site's page (Sec-Fetch-Site: {fetch_site}) may not change anything here"
        return body("cross_site", detail)
    return None


def not_json(headers: Headers) -> dict | None:
    """An API body that is not JSON (a request without a body needs no Content-Type)."""
    kind = headers.get("content-type")
    if kind is None and headers.get("content-length", "0") == "0" and "transfer-encoding" not in headers:
        return None
    if kind is not None and kind.split(";", 1)[0].strip().lower() == JSON:
        return None
    return body("unsupported_media_type", f"the API takes {JSON} bodies only, got {(kind or 'none')[:100]}")


def refusal(scope: Scope, settings: WebSettings) -> dict | None:
    """The problem that stops this request before any route sees it, or None."""
    headers = Headers(scope=scope)
    server = scope.get("server") or ("", None)
    problem = misdirected(headers, hosts(settings, server[1] or 80))
    if problem is None and scope["method"] not in SAFE_METHODS:
        problem = foreign(headers) or (not_json(headers) if scope["path"].startswith("/api/") else None)
    if problem is None and settings.guarded and not scope["path"].startswith(OPEN_PATHS):
        if not (settings.open_reads and scope["method"] in SAFE_METHODS) and not authorized(headers, settings):
            detail = "this server needs its token: an Authorization: Bearer header, or log in at /login"
            problem = body("unauthorized", detail)
    return problem


class Guard:
    """ASGI middleware: the checks of `refusal`, then the security headers on every answer."""

    def __init__(self, app: ASGIApp, settings: WebSettings, answer: Callable[[dict], ASGIApp]):
        self.app = app
        self.settings = settings
        self.answer = answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        problem = refusal(scope, self.settings)
        if problem is None:
            await self.app(scope, receive, with_headers)
        elif problem["code"] == "unauthorized" and not scope["path"].startswith(MACHINE_PATHS):
            await RedirectResponse("/login", status_code=303)(scope, receive, with_headers)
        else:
            await self.answer(problem)(scope, receive, with_headers)
