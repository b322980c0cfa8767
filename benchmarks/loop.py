"""The load generator's ZeroMQ clients, all of a process's in one thread around one poller.

Why: as threads (one per client, as the SQL clients still run), 32 clients per process spent
most of the generator's CPU switching threads and passing the GIL: at 64 clients the generator
cost more CPU per registration than the shard it measured. Here each client keeps its own DEALER
per shard, as before (the shards see the same connections), and its one request in flight; a
reply is matched by its id, and the client then sends its next request.
"""

import random
import time
from collections import Counter

import zmq

from benchmarks.dealer import Shards, receive, send

KINDS = ("monclub", "ping")


class _Client:
    """One closed-loop client: its members to register, its sockets, its samples."""

    def __init__(self, shards: Shards, membres: list[int], rng: random.Random):
        self.shards = shards
        self.membres = iter(membres)
        self.rng = rng
        self.waiting: tuple[str, float] | None = None  # request id, sent at
        self.latencies: list[float] = []
        self.errors: Counter = Counter()
        self.last = 0.0

    def sample(self) -> dict:
        return {"latencies": self.latencies, "errors": self.errors, "ended": self.last}


class Clients:
    """The clients of one generator process, their sockets open (connected) before `run`."""

    def __init__(self, kind: str, endpoints: list[str], partitions: int, seances: list[str], slices, seed: int):
        self.kind = kind
        self.seances = seances
        context = zmq.Context.instance()
        self.clients = [
            _Client(Shards(context, endpoints, 0, partitions), membres, random.Random(seed * 1000 + i))
            for i, membres in enumerate(slices)
        ]

    def run(self, budget: float, reply_timeout: float) -> list[dict]:
        """Every client sends, waits for its reply, sends the next, until its members are used up
        or `budget` seconds have passed; a reply later than `reply_timeout` stops its client
        ("timeout"). The samples of each client."""
        stop_at = time.monotonic() + budget
        poller = zmq.Poller()
        by_socket: dict[zmq.Socket, _Client] = {}
        for client in self.clients:
            self._next(client, poller, by_socket, stop_at)
        while by_socket:
            ready = poller.poll(int(reply_timeout * 1000))
            if not ready:
                for client in by_socket.values():
                    client.errors["timeout"] += 1
                break
            answered = []
            for socket, _ in ready:  # every reply first, then the next requests close together
                client = by_socket.pop(socket)
                poller.unregister(socket)
                if self._answered(client, receive(socket)):
                    answered.append(client)
            for client in answered:
                self._next(client, poller, by_socket, stop_at)
        for client in self.clients:
            client.shards.close()
        return [client.sample() for client in self.clients]

    def _next(self, client: _Client, poller: zmq.Poller, by_socket: dict, stop_at: float) -> None:
        membre = next(client.membres, None)
        if membre is None or time.monotonic() > stop_at:
            return
        seance = self.seances[0] if len(self.seances) == 1 else client.rng.choice(self.seances)
        socket = client.shards.socket_for(seance)
        if self.kind == "ping":
            request_id = send(socket, "ping")
        else:
            request_id = send(socket, "inscrire", seance=seance, membre=membre)
        client.waiting = (request_id, time.monotonic())
        by_socket[socket] = client
        poller.register(socket, zmq.POLLIN)

    @staticmethod
    def _answered(client: _Client, reply: dict) -> bool:
        """Record the reply; False when it was not the awaited one (the client then stops, as a
        socket whose replies no longer match its requests is of no use)."""
        assert client.waiting is not None
        request_id, sent_at = client.waiting
        ended = time.monotonic()
        if reply.get("id") != request_id:
            client.errors["unmatched"] += 1
            return False
        if reply["ok"]:
            client.latencies.append(ended - sent_at)
            client.last = ended
        else:
            client.errors[reply["error"]["code"]] += 1
        return True
