"""The kill buttons: kill -9 of one process of the local tree, from the browser.

Off unless `[web] actions = true`; a POST with the token in its Authorization header (see
monclub.web.access). Every place of the tree may be killed but supervisord, the root, which
nothing would restart. The answer comes once the process is gone and the open tree pages show
it down (monclub.web.live.TreeWatch.killed). The web program's own kill is sent once its answer
is on the way.
And /login, where a browser trades the token for a cookie.
"""

import os
import signal
import time
from urllib.parse import parse_qs

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from monclub.errors import InvalidField
from monclub.tree import supervisord as tree
from monclub.web.access import COOKIE, may_act, same, session
from monclub.web.problems import Problem
from monclub.web.rendering import context, render
from monclub.web.requests import read_body

ROOT = "supervisord"


def _kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)


async def kill(request: Request) -> JSONResponse:
    web = request.app.state.web
    if not web.settings.actions:
        raise Problem("actions_off", "the kill buttons are off: set [web] actions = true (and a token) to use them")
    if not may_act(request.headers, web.settings):
        raise Problem("forbidden", "a kill needs the token in an Authorization: Bearer header, from this server's page")
    place = request.path_params["place"]
    pids = tree.places(await web.tree.now())
    if place == ROOT or place not in pids:
        killable = ", ".join(sorted(p for p in pids if p != ROOT))
        raise InvalidField("place", f"must be a place of the tree other than {ROOT}: {killable}")
    pid = pids[place]
    if pid is None:
        raise Problem("not_found", f"{place} is not running (no pid to kill)")
    web.metrics.kills.labels(place).inc()
    if pid == os.getpid():
        return JSONResponse({"place": place, "pid": pid, "killed": True}, background=BackgroundTask(_kill, pid))
    at = time.time()
    _kill(pid)
    await web.tree.killed(place, pid, at)
    return JSONResponse({"place": place, "pid": pid, "killed": True})


async def login(request: Request) -> Response:
    """The token once, for a session cookie of the pages of a server bound beyond loopback
    (derived from the token; HttpOnly: no script reads it; SameSite=Strict: no other site's
    request carries it)."""
    settings = request.app.state.web.settings
    if request.method == "GET":
        return render(request, "login.html", context(request, "login"))
    form = parse_qs((await read_body(request, settings.max_body)).decode(errors="replace"))
    token = (form.get("token") or [""])[0]
    if not same(token, settings.token):
        return render(request, "login.html", context(request, "login", refused=True), status=401)
    answer = RedirectResponse("/", status_code=303)
    answer.set_cookie(COOKIE, session(token), httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return answer


def routes() -> list[Route]:
    return [Route("/api/kill/{place:path}", kill, methods=["POST"]), Route("/login", login, methods=["GET", "POST"])]
