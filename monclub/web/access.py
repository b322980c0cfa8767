"""Who may use the web program, and the headers every answer carries.

On loopback without a token, anybody on this machine may read and send commands (as with the
CLI). Bound beyond loopback, every request needs the token: an `Authorization: Bearer` header, or
the cookie that POST /login sets from it. A kill button needs the token in the header (never the
cookie) and, when the browser sends one, an Origin of this very server: another site's page can
neither read the token nor send that header, so it cannot forge the POST (CSRF-safe).
"""

import hmac

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monclub.web.settings import WebSettings

COOKIE = "monclub_token"
OPEN_PATHS = ("/login", "/static/")
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


def same(given: str | None, token: str | None) -> bool:
    return given is not None and token is not None and hmac.compare_digest(given.encode(), token.encode())


def bearer(headers: Headers) -> str | None:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def cookie_token(headers: Headers) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value
    return None


def authorized(headers: Headers, settings: WebSettings) -> bool:
    """May this request read and send commands?"""
    if settings.token is None or settings.loopback:
        return True
    return same(bearer(headers), settings.token) or same(cookie_token(headers), settings.token)


def may_act(headers: Headers, settings: WebSettings) -> bool:
    """May this request press a kill button? The token in the header, and no foreign Origin."""
    origin = headers.get("origin")
    if origin is not None and origin.split("://", 1)[-1] != headers.get("host"):
        return False
    return settings.actions and same(bearer(headers), settings.token)


class Guard:
    """ASGI middleware: the token check, then the security headers on every answer."""

    def __init__(self, app: ASGIApp, settings: WebSettings, refuse: ASGIApp):
        self.app = app
        self.settings = settings
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        guarded = self.settings.token is not None and not self.settings.loopback
        if guarded and not scope["path"].startswith(OPEN_PATHS) and not authorized(Headers(scope=scope), self.settings):
            await self.refuse(scope, receive, with_headers)
            return
        await self.app(scope, receive, with_headers)
