"""The ROUTER loop of a shard process: one message at a time, never a crash.

Frames: [peer identity, at most one empty delimiter, payload]. REQ clients send the delimiter,
DEALER clients may send it or not; the reply goes back with the same envelope. An envelope of any
other shape is dropped and logged: there is nobody to answer.
"""

import logging
import signal
import time

import zmq

from monclub import protocol, wire
from monclub.errors import InvalidRequest

log = logging.getLogger(__name__)
POLL_MS = 200


def _split(frames: list[bytes]) -> tuple[list[bytes], bytes] | None:
    if len(frames) < 2 or len(frames) > 3 or any(frames[1:-1]):
        return None
    return frames[:-1], frames[-1]


def answer(handler, payload: bytes) -> dict | None:
    """Decode, validate and dispatch one payload; map every failure to a reply."""
    message = None
    try:
        message = wire.decode(payload)
        return handler.handle(protocol.parse_request(message, handler.domain.ops))
    except InvalidRequest as error:
        rid = protocol.request_id_of(message) if isinstance(message, dict) else None
        return protocol.error(rid, "invalid_request", error.message)
    except Exception:
        log.exception("unexpected failure handling a request")
        rid = protocol.request_id_of(message) if isinstance(message, dict) else None
        return protocol.error(rid, "internal_error", "internal error; nothing was committed")


class Stop:
    """Records SIGTERM/SIGINT; the loop acts on it between messages."""

    def __init__(self):
        self.requested = False
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._record)

    def _record(self, signum, frame):
        self.requested = True


def serve(endpoint: str, handler, hwm: int = 10_000) -> int:
    stop = Stop()
    context = zmq.Context()
    socket = context.socket(zmq.ROUTER)
    socket.linger = 0
    socket.rcvhwm = hwm
    socket.sndhwm = hwm
    socket.bind(endpoint)
    log.info("%s listening on %s", handler.name, endpoint)
    ticked = 0.0
    try:
        while not stop.requested:
            if time.monotonic() - ticked >= POLL_MS / 1000:
                handler.tick()
                ticked = time.monotonic()
            if not socket.poll(POLL_MS):
                continue
            frames = socket.recv_multipart()
            split = _split(frames)
            if split is None:
                log.warning("dropped a message with a malformed envelope of %d frames", len(frames))
                continue
            envelope, payload = split
            reply = answer(handler, payload)
            if reply is not None:
                socket.send_multipart([*envelope, wire.encode(reply)])
    finally:
        socket.close(linger=0)
        context.term()
    return 0
