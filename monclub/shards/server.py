"""The ROUTER loop of a shard process: one batch of waiting messages at a time, never a crash.

Frames: [peer identity, at most one empty delimiter, payload]. REQ clients send the delimiter,
DEALER clients may send it or not; the reply goes back with the same envelope. An envelope of any
other shape is dropped and logged: there is nobody to answer.
"""

import logging
import time

import zmq

from monclub.config import Config
from monclub.contract import protocol
from monclub.errors import InvalidRequest
from monclub.shards import endpoint as endpoint_lock
from monclub.supervision.program import Stop
from monclub.wire import codec as wire
from monclub.wire import curve, frames

log = logging.getLogger(__name__)
POLL_MS = 200
BATCH_MAX = 256
BATCH_SECONDS = 0.002


def _split(frames: list[bytes]) -> tuple[list[bytes], bytes] | None:
    if len(frames) < 2 or len(frames) > 3 or any(frames[1:-1]):
        return None
    return frames[:-1], frames[-1]


def parse(handler, payload: bytes) -> protocol.Request | dict:
    """Decode and validate one payload: a request, or the reply that refuses it."""
    message = None
    try:
        message = wire.decode(payload)
        return handler.domain.ops.parse(message)
    except InvalidRequest as error:
        return protocol.error(_id_of(message), "invalid_request", error.message)
    except Exception:
        log.exception("unexpected failure decoding a request")
        return protocol.error(_id_of(message), "internal_error", "internal error; nothing was committed")


def _id_of(message) -> str | None:
    return protocol.request_id_of(message) if isinstance(message, dict) else None


def handle(handler, requests: list[protocol.Request]) -> list[dict | None]:
    """The handler's replies; never an exception (an unexpected one is logged, and the batch is
    answered with internal_error: a retry with the same id learns the outcome)."""
    if not requests:
        return []
    try:
        return handler.handle_batch(requests)
    except Exception:
        log.exception("unexpected failure handling %d requests", len(requests))
        message = "internal error; retry with the same request id to learn the outcome"
        return [protocol.error(request.id, "internal_error", message) for request in requests]


def answer(handler, messages: list[list[bytes]]) -> list[list[bytes]]:
    """The reply frames for a batch of received messages, in order."""
    parsed = []
    for message in messages:
        split = _split(message)
        if split is None:
            log.warning("dropped a message with a malformed envelope of %d frames", len(message))
            continue
        envelope, payload = split
        parsed.append((envelope, parse(handler, payload)))
    replies = iter(handle(handler, [item for _, item in parsed if isinstance(item, protocol.Request)]))
    answers = [(envelope, next(replies) if isinstance(item, protocol.Request) else item) for envelope, item in parsed]
    return [[*envelope, wire.encode(reply)] for envelope, reply in answers if reply is not None]


def receive(socket: zmq.Socket) -> list[list[bytes]]:
    """The next message and whatever else is already waiting (group commit), bounded in count and
    time; at low load that is one message, so nothing waits for a batch to fill."""
    messages = [frames.receive(socket)]
    until = time.monotonic() + BATCH_SECONDS
    while len(messages) < BATCH_MAX and frames.waiting(socket) and time.monotonic() < until:
        messages.append(frames.receive(socket))
    return messages


def serve(endpoint: str, handler, config: Config) -> int:
    """Serve until SIGTERM, then close the handler (a shard process hands its partitions over).
    What a flood can cost is bounded by the high-water marks (per peer and direction), the batch
    size, and a frame size cap: a larger frame closes its connection unread (frames up to the cap
    are read, then refused by the codec with an answer)."""
    stop = Stop()
    if not endpoint_lock.claim(endpoint, lambda: stop.requested):
        return 0
    context = zmq.Context()
    socket = context.socket(zmq.ROUTER)
    socket.linger = 0
    socket.rcvhwm = config.hwm
    socket.sndhwm = config.hwm
    socket.maxmsgsize = 4 * wire.MAX_MESSAGE_BYTES
    curve.secure_server(socket, config)
    socket.bind(endpoint)
    log.info("%s listening on %s", handler.name, endpoint)
    ticked = 0.0
    try:
        while not stop.requested:
            if time.monotonic() - ticked >= POLL_MS / 1000:
                handler.tick()
                handler.after_replies()
                ticked = time.monotonic()
            if not socket.poll(POLL_MS):
                continue
            for reply in answer(handler, receive(socket)):
                frames.send(socket, reply)
            handler.after_replies()
    finally:
        socket.close(linger=0)
        context.term()
        handler.close()
    return 0
