"""The bus program: a ZeroMQ XSUB/XPUB proxy, the application's PubSub.

Publishers (the relay) connect a PUB socket to run/bus-in.sock; listeners connect SUB sockets to
run/bus-out.sock, and, when `[reunions] tcp` is set, subscribers elsewhere to its port + 202, with
CurveZMQ as the shards. The bus keeps nothing: whatever it drops, listeners recover from
PostgreSQL, and other subscribers from the replay socket (monclub/events/replay.py).
"""

import sys

import zmq

from monclub import config as configuration
from monclub.supervision import program
from monclub.wire import curve

TOPIC_EVENT = b"event"
TOPIC_HEARTBEAT = b"heartbeat"
HWM = 100_000


def endpoints(config: configuration.Config) -> tuple[str, str]:
    return config.endpoint("bus-in"), config.endpoint("bus-out")


def proxy(config: configuration.Config) -> int:
    """Forward until killed: SIGTERM keeps its default action, since zmq.proxy never returns."""
    inbound, outbound = endpoints(config)
    context = zmq.Context()
    xsub, xpub = context.socket(zmq.XSUB), context.socket(zmq.XPUB)
    for socket in (xsub, xpub):
        socket.linger = 0
        socket.rcvhwm = socket.sndhwm = HWM
    xsub.bind(inbound)
    xpub.bind(outbound)
    public = config.service_endpoint("bus-out")
    if public != outbound:
        # A listener takes the socket's options when it is bound: CURVE applies to tcp alone.
        curve.secure_server(xpub, config)
        xpub.bind(public)
    zmq.proxy(xsub, xpub)
    return 0


if __name__ == "__main__":
    sys.exit(program.run("bus", proxy))
