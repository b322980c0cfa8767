"""The web program's ASGI application: the API, the live pages, /metrics, and what they share."""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import anyio.to_thread
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from monclub.client.aio import AsyncClient
from monclub.config import Config
from monclub.errors import MonclubError
from monclub.web import actions, api, club_pages, forms, pages, problems
from monclub.web.access import Guard
from monclub.web.backend import Database
from monclub.web.live import Feed, TreeWatch
from monclub.web.metrics import Metrics
from monclub.web.settings import WebSettings

log = logging.getLogger("monclub.web")
PROBLEM = "application/problem+json"


class Web:
    """What every handler reaches through request.app.state.web."""

    def __init__(self, config: Config, settings: WebSettings):
        self.config = config
        self.settings = settings
        self.client = AsyncClient(config)
        self.db = Database(config)
        self.metrics = Metrics(config)
        self.feed = Feed(config, self.db)
        self.tree = TreeWatch(config)
        self.outcomes = forms.Outcomes()

    async def run_blocking(self, function: Callable[[], Any]) -> Any:
        return await anyio.to_thread.run_sync(function)

    async def close(self) -> None:
        await self.client.close()
        self.db.close()


def problem_response(problem: dict) -> JSONResponse:
    headers = problems.headers_of(problem)
    return JSONResponse(problem, status_code=problem["status"], media_type=PROBLEM, headers=headers)


async def _monclub_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, MonclubError)
    return problem_response(problems.of_error(error))


async def _problem(request: Request, error: Exception) -> Response:
    assert isinstance(error, problems.Problem)
    return problem_response(error.problem)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "invalid_request")
    return problem_response(problems.body(code, f"{request.method} {request.url.path}: {error.detail}"))


async def _crash(request: Request, error: Exception) -> Response:
    log.exception("%s %s failed", request.method, request.url.path)
    return problem_response(problems.body("internal_error", "the web program failed on this request (see its log)"))


async def metrics(request: Request) -> Response:
    web = request.app.state.web
    text = await web.run_blocking(lambda: generate_latest(web.metrics.registry))
    return Response(text, media_type=CONTENT_TYPE_LATEST)


def create_app(config: Config, settings: WebSettings) -> Starlette:
    web = Web(config, settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        web.db.open()
        tasks = [asyncio.create_task(web.feed.run(), name="feed"), asyncio.create_task(web.tree.run(), name="tree")]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await web.close()

    app = Starlette(
        routes=[
            *api.routes(),
            *actions.routes(),
            *club_pages.routes(),
            *forms.routes(),
            *pages.routes(),
            Route("/metrics", metrics, methods=["GET"]),
        ],
        lifespan=lifespan,
        exception_handlers={
            MonclubError: _monclub_error,
            problems.Problem: _problem,
            HTTPException: _http_error,
            Exception: _crash,
        },
    )
    app.state.web = web
    app.add_middleware(Guard, settings=settings, answer=problem_response)
    return app
