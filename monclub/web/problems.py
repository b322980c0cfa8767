"""MonClub's errors as HTTP problems (RFC 9457, application/problem+json): the stable code, one
line of detail, and a status that says what the client may do about it.

Pure: an error in, a status and a body out. The HTTP-only codes (a body too large, a route that
does not exist, a key used again for another request, a missing token) sit beside MonClub's own.
"""

from http import HTTPStatus

from monclub.errors import DOMAIN_REFUSALS, InvalidField, MonclubError, is_refusal

NOT_FOUND = {"seance_inconnue", "livre_inconnu", "membre_inconnu", "paiement_inconnu", "not_found"}
INVALID = {"invalid_request", "idempotency_key_reused"}

STATUS = {
    **{code: 404 for code in NOT_FOUND},
    **{code: 409 for code in DOMAIN_REFUSALS - NOT_FOUND},
    **{code: 422 for code in INVALID},
    "paiement_clos": 409,
    "unavailable": 503,
    "timeout": 504,
    "payload_too_large": 413,
    "method_not_allowed": 405,
    "unauthorized": 401,
    "forbidden": 403,
    "cross_site": 403,
    "misdirected_request": 421,
    "unsupported_media_type": 415,
    "actions_off": 403,
    "internal_error": 500,
}
RETRY_AFTER_SECONDS = 1
KEY_REUSED = "this Idempotency-Key was sent before with another request (path or body): use a new key"
RESEND = "resend the same request with the same Idempotency-Key to learn its outcome (it is never applied twice)"


class Problem(Exception):
    """A refusal of the HTTP layer, with a code of its own (a body too large, a key reused...)."""

    def __init__(self, code: str, detail: str, **extra):
        super().__init__(detail)
        self.problem = body(code, detail, **extra)


def status_of(code: str) -> int:
    """A registered branch's own refusal is a conflict, as MonClub's are."""
    return STATUS.get(code, 409 if is_refusal(code) else 500)


def body(code: str, detail: str, **extra) -> dict:
    status = status_of(code)
    return {
        "type": f"urn:monclub:error:{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "code": code,
        "detail": detail,
        **extra,
    }


def of_error(error: MonclubError) -> dict:
    """The problem of an error the client or a shard raised (a request id reused is, over HTTP,
    an Idempotency-Key reused: the key is the request id)."""
    if error.code == "request_id_reused":
        return body("idempotency_key_reused", KEY_REUSED)
    if isinstance(error, InvalidField):
        return body(error.code, f"{error.field}: {error.rule}", field=error.field, rule=error.rule)
    if error.code == "timeout":
        return body(error.code, error.message, resend=RESEND)
    return body(error.code, error.message)


def headers_of(problem: dict) -> dict[str, str]:
    return {"Retry-After": str(RETRY_AFTER_SECONDS)} if problem["status"] == 503 else {}
