"""The client's remembered owners when a node goes silent (stopped, frozen, cut off): one
unanswered attempt makes it forget every owner it remembered on that node, not only the one it
asked, so that each other partition of the node does not cost one more attempt timeout (the
multi-host benchmark measured 1 node at 12 op/s after the two others were stopped: every client
waited 1.5 s per partition it had remembered on them)."""

import socket
import threading
import time
from pathlib import Path

import zmq

from monclub.client.sync import Client
from monclub.cluster.partition import partition_of
from monclub.config import Config
from monclub.contract import protocol
from monclub.wire import codec as wire

ATTEMPT = 0.3


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def serve(endpoint: str, answer: bool, stop: threading.Event) -> None:
    """A ROUTER at `endpoint` that answers every request ok, or (answer False) none: a frozen node."""
    with zmq.Context.instance().socket(zmq.ROUTER) as router:
        router.linger = 0
        router.bind(endpoint)
        while not stop.is_set():
            if router.poll(20):
                identity, empty, payload = router.recv_multipart()
                if answer:
                    reply = protocol.ok(wire.decode(payload)["id"], {"seance": {"places": 1}})
                    router.send_multipart([identity, empty, wire.encode(reply)])


def test_one_unanswered_attempt_forgets_every_owner_remembered_on_that_node(tmp_path: Path):
    live, silent_a, silent_b = free_ports(3)
    config = Config(home=tmp_path, tcp=f"127.0.0.1:{live}", shards=1, partitions=16)
    stop = threading.Event()
    servers = [
        threading.Thread(target=serve, args=(f"tcp://127.0.0.1:{port}", answer, stop))
        for port, answer in ((live, True), (silent_a, False), (silent_b, False))
    ]
    for server in servers:
        server.start()
    try:
        ids = [f"s{i}" for i in range(100)]
        first = ids[0]
        second = next(s for s in ids if partition_of(s, 16) != partition_of(first, 16))
        with Client(config, attempt_timeout=ATTEMPT, deadline=10) as client:
            # Learned from redirects earlier: two partitions owned by two processes of the silent node.
            client.owners.known[("reunions", partition_of(first, 16))] = f"tcp://127.0.0.1:{silent_a}"
            client.owners.known[("reunions", partition_of(second, 16))] = f"tcp://127.0.0.1:{silent_b}"
            client.etat(first)
            assert client.retries == 1, "one attempt timed out on the silent node, then the live one answered"
            started = time.monotonic()
            client.etat(second)
            assert time.monotonic() - started < ATTEMPT, "the other partition of the silent node was forgotten too"
            assert client.retries == 1
    finally:
        stop.set()
        for server in servers:
            server.join(timeout=5)
