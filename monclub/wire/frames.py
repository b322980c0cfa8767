"""A message's frames read from and sent to a ZeroMQ socket on the hot paths (the shard's loop,
the relay, the listeners), with plain integers for options and flags.

Why not pyzmq's `recv_multipart`/`send_multipart`: they turn each option and flag into an enum
member on every frame, a tenth of a message's CPU in a shard's loop and of an event's in the relay.
"""

import zmq

_EVENTS, _POLLIN, _RCVMORE, _SNDMORE = int(zmq.EVENTS), int(zmq.POLLIN), int(zmq.RCVMORE), int(zmq.SNDMORE)


def waiting(socket: zmq.Socket) -> bool:
    """Whether a whole message can be read at once (no system call, unlike a poll)."""
    return bool(socket.get(_EVENTS) & _POLLIN)  # type: ignore[operator]  # an int option


def receive(socket: zmq.Socket) -> list[bytes]:
    """The next message's frames (waiting for it)."""
    frames = [socket.recv()]
    while socket.get(_RCVMORE):
        frames.append(socket.recv())
    return frames


def send(socket: zmq.Socket, frames: list[bytes]) -> None:
    for frame in frames[:-1]:
        socket.send(frame, _SNDMORE)
    socket.send(frames[-1])
