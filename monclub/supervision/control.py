"""A supervisor's control socket: the requests it answers (`status`; `replace`, a child swapped
for a fresh copy running the code on disk), and asking it (`monclub status`, `monclub reload`,
the tests)."""

import uuid
from dataclasses import dataclass

import zmq

from monclub.contract import protocol
from monclub.errors import InvalidRequest
from monclub.wire import codec as wire

OPS = ("status", "replace")


@dataclass(frozen=True)
class Control:
    id: str | None
    op: str
    child: str | None = None


def parse_control(message: dict) -> Control:
    op = message.get("op")
    if not protocol.is_version(message.get("v")) or op not in OPS:
        raise InvalidRequest("a control socket answers {'v': 1, 'id': ..., 'op': 'status' or 'replace'}")
    child = message.get("child")
    if op == "replace" and not isinstance(child, str):
        raise InvalidRequest("op 'replace' needs field 'child', the name of a child")
    return Control(protocol.request_id_of(message), op, child if op == "replace" else None)


def ask(endpoint: str, op: str, timeout: float = 1.0, **fields) -> dict | None:
    """The supervisor's reply to `op` ({"ok": ..., ...}), or None when it does not answer in time."""
    context: zmq.Context = zmq.Context.instance()
    socket = context.socket(zmq.REQ)
    socket.linger = 0
    try:
        socket.connect(endpoint)
        socket.send(wire.encode(protocol.request(uuid.uuid4().hex, op, **fields)))
        if not socket.poll(int(timeout * 1000)):
            return None
        return wire.decode(socket.recv())
    finally:
        socket.close(linger=0)


def query_status(endpoint: str, timeout: float = 1.0) -> dict | None:
    """The supervisor's status, or None when it does not answer in time."""
    reply = ask(endpoint, "status", timeout)
    return reply["result"] if reply is not None and reply.get("ok") else None
