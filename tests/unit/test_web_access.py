"""Who may use the web program, checked on its ASGI application in-process (no socket, no tree):
the token beyond loopback, /login's cookie, the kill buttons' rules, the security headers."""

import asyncio

import httpx

from monclub import config as configuration
from monclub.web.access import CSP
from monclub.web.app import create_app
from monclub.web.settings import WebSettings

TOKEN = "a-token-of-sixteen-or-more"


def _ask(settings: WebSettings, tmp_path, *requests: tuple) -> list[httpx.Response]:
    config = configuration.load({"MONCLUB_HOME": str(tmp_path), "MONCLUB_DATABASE_URL": "postgresql:///nowhere"})
    app = create_app(config, settings)

    async def send() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return [await client.request(method, path, **kw) for method, path, kw in requests]

    return asyncio.run(send())


def test_beyond_loopback_every_request_needs_the_token_in_a_header_or_the_login_cookie(tmp_path):
    settings = WebSettings(bind="0.0.0.0", token=TOKEN)
    bare, wrong, page, login_form, refused, login = _ask(
        settings,
        tmp_path,
        ("GET", "/api/seances/x/nope", {}),
        ("GET", "/events", {"headers": {"Authorization": "Bearer nope-nope-nope-nope"}}),
        ("GET", "/login", {}),
        ("GET", "/static/live.js", {}),
        ("POST", "/login", {"content": b"token=wrong"}),
        ("POST", "/login", {"content": f"token={TOKEN}".encode()}),
    )
    assert bare.status_code == wrong.status_code == 401
    assert bare.headers["content-type"] == "application/problem+json" and bare.json()["code"] == "unauthorized"
    assert page.status_code == 200 and 'name="token"' in page.text
    assert login_form.status_code == 200, "the script of the login page is served without the token"
    assert refused.status_code == 401
    assert login.status_code == 303 and login.headers["location"] == "/"
    cookie = login.headers["set-cookie"]
    assert cookie.startswith(f"monclub_token={TOKEN}") and "HttpOnly" in cookie and "SameSite=strict" in cookie


def test_with_the_token_the_pages_answer_and_every_answer_carries_the_security_headers(tmp_path):
    settings = WebSettings(bind="0.0.0.0", token=TOKEN)
    by_header, by_cookie = _ask(
        settings,
        tmp_path,
        ("GET", "/events", {"headers": {"Authorization": f"Bearer {TOKEN}"}}),
        ("GET", "/prets", {"headers": {"Cookie": f"monclub_token={TOKEN}"}}),
    )
    for answer in (by_header, by_cookie):
        assert answer.status_code == 200 and '<script src="' in answer.text and "<script>" not in answer.text
        assert answer.headers["content-security-policy"] == CSP and "script-src 'self'" in CSP
        assert answer.headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in CSP
        assert answer.headers["x-content-type-options"] == "nosniff"


def test_kill_buttons_are_off_by_default_and_need_the_header_token_never_the_cookie(tmp_path):
    off = _ask(WebSettings(), tmp_path, ("POST", "/api/kill/relay", {}))[0]
    assert off.status_code == 403 and off.json()["code"] == "actions_off"
    settings = WebSettings(actions=True, token=TOKEN)
    cookie, get = _ask(
        settings,
        tmp_path,
        ("POST", "/api/kill/relay", {"headers": {"Cookie": f"monclub_token={TOKEN}"}}),
        ("GET", "/api/kill/relay", {"headers": {"Authorization": f"Bearer {TOKEN}"}}),
    )
    assert cookie.status_code == 403 and cookie.json()["code"] == "forbidden"
    assert get.status_code == 405 and get.json()["code"] == "method_not_allowed"
