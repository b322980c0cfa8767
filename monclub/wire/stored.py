"""What a request leaves behind with its reply: its fingerprint (its op and its checked fields,
encoded by the one codec), stored with the reply, so that the same request id sent again with
another request is refused (`request_id_reused`) instead of answered with the first request's
reply."""

import hashlib

from monclub.contract import protocol
from monclub.contract.protocol import Request
from monclub.wire import codec

REUSED = "this request id was sent before with another op or other fields: a new request needs a new id"


def empreinte(request: Request) -> bytes:
    """The request's fingerprint: 16 bytes of a hash of its op and its sorted checked fields."""
    return hashlib.blake2b(codec.encode([request.op, sorted(request.args.items())]), digest_size=16).digest()


def stored_reply(request: Request, reply: bytes, stored_empreinte: bytes | None) -> dict:
    """The reply stored under the request's id, if it was stored for this same request (a reply
    stored before fingerprints were kept has none, and is taken as it is)."""
    if stored_empreinte is not None and stored_empreinte != empreinte(request):
        return protocol.error(request.id, "request_id_reused", REUSED)
    return codec.decode(reply)
