"""What every API handler does with its request before acting: read the body within its bound,
parse it as a JSON object, keep only the fields the command takes, check the Idempotency-Key."""

import json
from dataclasses import dataclass

from starlette.requests import Request

from monclub.contract import protocol
from monclub.errors import InvalidField, InvalidRequest
from monclub.web import idempotency
from monclub.web.problems import Problem


def too_large(limit: int) -> Problem:
    return Problem("payload_too_large", f"the request body exceeds {limit} bytes")


@dataclass(frozen=True)
class Incoming:
    body: dict
    key: str | None

    @property
    def request_id(self) -> str | None:
        return idempotency.request_id(self.key)


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_object(raw: bytes) -> dict:
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidRequest("the request body is not valid JSON (UTF-8)") from None
    if not isinstance(value, dict):
        raise InvalidRequest(f"the request body must be a JSON object, got {type(value).__name__}")
    return value


def only(body: dict, allowed: tuple[str, ...], required: tuple[str, ...]) -> dict:
    """The body's fields, refusing one the command does not take and naming one it misses."""
    extra = sorted(set(body) - set(allowed))
    if extra:
        raise InvalidField(extra[0][:64], f"is not a field of this command (it takes {', '.join(allowed) or 'none'})")
    for name in required:
        if name not in body:
            raise InvalidField(name, "is required")
    return body


async def incoming(request: Request, limit: int, allowed: tuple[str, ...], required: tuple[str, ...]) -> Incoming:
    key = idempotency.checked_key(request.headers.get("idempotency-key"))
    body = only(parse_object(await read_body(request, limit)), allowed, required)
    return Incoming(body, key)


def path_id(request: Request, name: str) -> str:
    """An aggregate id from the path, checked as the shards check it."""
    return protocol.seance_id(name, request.path_params[name])


def query_int(request: Request, name: str, check) -> int | None:
    """An optional integer from the query string, checked by the field check `check`."""
    value = request.query_params.get(name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise InvalidField(name, "must be an integer") from None
    return check(name, number)
