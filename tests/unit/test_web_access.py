"""Who may use the web program, checked on its ASGI application in-process (no socket, no tree):
the Host it answers, cross-site requests and non-JSON bodies refused, the token beyond loopback,
/login's cookie, the kill buttons' rules, the security headers."""

import asyncio

import httpx

from monclub import config as configuration
from monclub.web.access import CSP, session
from monclub.web.app import create_app
from monclub.web.settings import WebSettings

TOKEN = "a-token-of-sixteen-or-more"


def _ask(settings: WebSettings, tmp_path, *requests: tuple) -> list[httpx.Response]:
    config = configuration.load({"MONCLUB_HOME": str(tmp_path), "MONCLUB_DATABASE_URL": "postgresql:///nowhere"})
    app = create_app(config, settings)

    async def send() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            return [await client.request(method, path, **kw) for method, path, kw in requests]

    return asyncio.run(send())


def test_beyond_loopback_every_request_needs_the_token_in_a_header_or_the_login_cookie(tmp_path):
    """A program gets 401; a page or a form, the login page; the cookie is derived from the
    token, never the token itself."""
    settings = WebSettings(bind="0.0.0.0", token=TOKEN)
    bare, wrong, form, page, login_form, refused, login = _ask(
        settings,
        tmp_path,
        ("GET", "/api/seances/x/nope", {}),
        ("GET", "/", {"headers": {"Authorization": "Bearer nope-nope-nope-nope"}}),
        ("POST", "/forms/reunions/inscrire", {"content": b"seance=x&membre=1"}),
        ("GET", "/login", {}),
        ("GET", "/static/live.js", {}),
        ("POST", "/login", {"content": b"token=wrong"}),
        ("POST", "/login", {"content": f"token={TOKEN}".encode()}),
    )
    assert bare.status_code == 401
    assert (
        wrong.status_code == form.status_code == 303
        and wrong.headers["location"] == form.headers["location"] == "/login"
    )
    assert bare.headers["content-type"] == "application/problem+json" and bare.json()["code"] == "unauthorized"
    assert page.status_code == 200 and 'name="token"' in page.text
    assert login_form.status_code == 200, "the script of the login page is served without the token"
    assert refused.status_code == 401
    assert login.status_code == 303 and login.headers["location"] == "/"
    cookie = login.headers["set-cookie"]
    assert (
        cookie.startswith(f"monclub_session={session(TOKEN)}") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    )
    assert TOKEN not in cookie


def test_beyond_loopback_the_reads_may_be_open_and_the_changes_still_need_the_login(tmp_path):
    settings = WebSettings(bind="0.0.0.0", token=TOKEN, open_reads=True)
    read, change = _ask(settings, tmp_path, ("GET", "/", {}), ("POST", "/api/membres", {"json": {"nom": "Marie"}}))
    assert read.status_code == 200
    assert change.status_code == 401 and change.json()["code"] == "unauthorized"


def test_with_the_token_the_pages_answer_and_every_answer_carries_the_security_headers(tmp_path):
    settings = WebSettings(bind="0.0.0.0", token=TOKEN)
    by_header, by_cookie = _ask(
        settings,
        tmp_path,
        ("GET", "/", {"headers": {"Authorization": f"Bearer {TOKEN}"}}),
        ("GET", "/", {"headers": {"Cookie": f"monclub_session={session(TOKEN)}"}}),
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
        ("POST", "/api/kill/relay", {"headers": {"Cookie": f"monclub_session={session(TOKEN)}"}}),
        ("GET", "/api/kill/relay", {"headers": {"Authorization": f"Bearer {TOKEN}"}}),
    )
    assert cookie.status_code == 403 and cookie.json()["code"] == "forbidden"
    assert get.status_code == 405 and get.json()["code"] == "method_not_allowed"


def test_a_host_this_server_does_not_serve_is_refused_reads_included(tmp_path):
    rebind = {"headers": {"Host": "rebind.evil.example"}}
    read, write, named, beyond = _ask(
        WebSettings(),
        tmp_path,
        ("GET", "/api/membres", rebind),
        ("POST", "/api/membres", {**rebind, "json": {"nom": "x"}}),
        ("GET", "/static/live.js", {"headers": {"Host": "127.0.0.1:80"}}),
        ("GET", "/static/live.js", {"headers": {"Host": "[::1]"}}),
    )
    assert read.status_code == write.status_code == 421
    assert read.json()["code"] == "misdirected_request" and "rebind.evil.example" in read.json()["detail"]
    assert named.status_code == beyond.status_code == 200
    configured = WebSettings(bind="192.0.2.10", token=TOKEN, hosts=("club.example.org",))
    club, address, other = _ask(
        configured,
        tmp_path,
        ("GET", "/login", {"headers": {"Host": "club.example.org"}}),
        ("GET", "/login", {"headers": {"Host": "192.0.2.10:80"}}),
        ("GET", "/login", {"headers": {"Host": "localhost"}}),
    )
    assert club.status_code == address.status_code == 200
    assert other.status_code == 421, "a server bound beyond loopback does not answer for loopback names"


def test_a_change_sent_by_another_sites_page_or_with_a_body_that_is_not_json_is_refused(tmp_path):
    forged = {"content": b'{"nom": "Injected"}', "headers": {"Content-Type": "text/plain"}}
    cross, same_site, null, plain, form, kill = _ask(
        WebSettings(actions=True, token=TOKEN),
        tmp_path,
        ("POST", "/api/membres", {**forged, "headers": {"Origin": "http://evil.example"}}),
        ("POST", "/api/seances/x/annuler", {"headers": {"Sec-Fetch-Site": "same-site"}}),
        ("POST", "/login", {"content": b"token=x", "headers": {"Origin": "null"}}),
        ("POST", "/api/membres", forged),
        ("POST", "/api/membres", {"data": {"nom": "Injected"}}),
        ("POST", "/api/kill/relay", {"headers": {"Authorization": f"Bearer {TOKEN}", "Origin": "http://evil.example"}}),
    )
    for answer in (cross, same_site, null, kill):
        assert answer.status_code == 403 and answer.json()["code"] == "cross_site"
    assert "http://evil.example" in cross.json()["detail"]
    for answer in (plain, form):
        assert answer.status_code == 415 and answer.json()["code"] == "unsupported_media_type"
    assert "text/plain" in plain.json()["detail"]
