"""A supervisor's control socket: the one request it answers, and asking it for its status (used
by `monclub status` and the tests)."""

import uuid

import zmq

from monclub import protocol, wire
from monclub.errors import InvalidRequest


def parse_control(message: dict) -> str | None:
    """The request id of a well-formed {"v": 1, "id": ..., "op": "status"}."""
    if not protocol.is_version(message.get("v")) or message.get("op") != "status":
        raise InvalidRequest("a control socket answers only {'v': 1, 'id': ..., 'op': 'status'}")
    return protocol.request_id_of(message)


def query_status(endpoint: str, timeout: float = 1.0) -> dict | None:
    """The supervisor's status, or None when it does not answer in time."""
    context: zmq.Context = zmq.Context.instance()
    socket = context.socket(zmq.REQ)
    socket.linger = 0
    try:
        socket.connect(endpoint)
        socket.send(wire.encode(protocol.request(uuid.uuid4().hex, "status")))
        if not socket.poll(int(timeout * 1000)):
            return None
        reply = wire.decode(socket.recv())
        return reply["result"] if reply.get("ok") else None
    finally:
        socket.close(linger=0)
