"""The bus program: a ZeroMQ XSUB/XPUB proxy, the application's PubSub.

Publishers (the relay) connect a PUB socket to run/bus-in.sock; listeners connect SUB sockets to
run/bus-out.sock. The bus keeps nothing: whatever it drops, listeners recover from PostgreSQL.
"""

import signal
import sys

import zmq

from monclub import config as configuration
from monclub.supervision.process import die_with_parent, set_title, setup_logging
from monclub.supervision.starts import record_start

TOPIC_EVENT = b"event"
TOPIC_HEARTBEAT = b"heartbeat"
HWM = 100_000


def endpoints(config: configuration.Config) -> tuple[str, str]:
    return config.endpoint("bus-in"), config.endpoint("bus-out")


def main() -> int:
    set_title("bus")
    setup_logging("bus")
    die_with_parent(signal.SIGTERM)
    config = configuration.load()
    config.prepare_dirs()
    record_start(config.run_dir, "bus")
    inbound, outbound = endpoints(config)
    context = zmq.Context()
    xsub, xpub = context.socket(zmq.XSUB), context.socket(zmq.XPUB)
    for socket in (xsub, xpub):
        socket.linger = 0
        socket.rcvhwm = socket.sndhwm = HWM
    xsub.bind(inbound)
    xpub.bind(outbound)
    zmq.proxy(xsub, xpub)
    return 0


if __name__ == "__main__":
    sys.exit(main())
