"""A lean MonClub client for the benchmarks: raw DEALER sockets speaking docs/protocol.md.

No retries and no backoff (monclub.client.sync.Client's job): a benchmark wants to see each reply, or
the lack of one, exactly when it happens. One DEALER per shard process; a séance's partition is
crc32(id) mod P, hosted by process partition mod N (monclub/cluster/partition.py).
"""

import uuid

import zmq

from monclub.cluster.partition import home_shard
from monclub.contract import protocol
from monclub.wire import codec as wire


def open_dealer(context: zmq.Context, endpoint: str, reconnect_ms: int = 100, immediate: bool = False) -> zmq.Socket:
    """A connected DEALER. `immediate`: sends fail (zmq.Again) while there is no live connection,
    instead of queueing for a peer that may never take them."""
    socket = context.socket(zmq.DEALER)
    socket.linger = 0
    socket.reconnect_ivl = reconnect_ms
    socket.immediate = immediate
    socket.connect(endpoint)
    return socket


def send(socket: zmq.Socket, op: str, flags: int = 0, **fields) -> str:
    """Send one request (with the empty delimiter a REQ peer would add); its id."""
    request_id = uuid.uuid4().hex
    socket.send_multipart([b"", wire.encode(protocol.request(request_id, op, **fields))], flags)
    return request_id


def receive(socket: zmq.Socket) -> dict:
    return wire.decode(socket.recv_multipart()[-1])


class Shards:
    """One DEALER per shard of a branch, one request in flight at a time."""

    def __init__(self, context: zmq.Context, endpoints: list[str], timeout: float, partitions: int):
        self.sockets = [open_dealer(context, endpoint) for endpoint in endpoints]
        self.timeout_ms = int(timeout * 1000)
        self.partitions = partitions

    def socket_for(self, seance: str) -> zmq.Socket:
        return self.sockets[home_shard(seance, self.partitions, len(self.sockets))]

    def call(self, op: str, seance: str, **fields) -> dict | None:
        """The reply, or None when none came within the timeout (the socket is then unusable for
        request-reply matching, so the caller stops using this client)."""
        return self._exchange(self.socket_for(seance), op, seance=seance, **fields)

    def ping(self, seance: str) -> dict | None:
        """The no-op `ping` of the shard `seance` routes to: its reply, or None as for `call`."""
        return self._exchange(self.socket_for(seance), "ping")

    def refused(self, seance: str) -> dict | None:
        """A registration without its membre, which the shard `seance` routes to refuses as it
        decodes it (`invalid_request`, a small reply): a hop with the least work at the shard."""
        return self._exchange(self.socket_for(seance), "inscrire", seance=seance)

    def _exchange(self, socket: zmq.Socket, op: str, **fields) -> dict | None:
        request_id = send(socket, op, **fields)
        if not socket.poll(self.timeout_ms):
            return None
        reply = receive(socket)
        return reply if reply.get("id") == request_id else None

    def close(self) -> None:
        for socket in self.sockets:
            socket.close(linger=0)


def load_all(
    context: zmq.Context,
    endpoints: list[str],
    seances: list[str],
    partitions: int,
    window: int = 64,
    timeout: float = 30.0,
) -> int:
    """Have the owning shards load `seances` (an `etat` each), up to `window` requests in flight
    per shard; the number of séances that answered ok. Raises if a shard stops answering."""
    shards = Shards(context, endpoints, timeout, partitions)
    try:
        pending = {socket: [] for socket in shards.sockets}
        for seance in seances:
            pending[shards.socket_for(seance)].append(seance)
        poller = zmq.Poller()
        in_flight = {socket: 0 for socket in shards.sockets}
        answered = 0
        for socket in shards.sockets:
            poller.register(socket, zmq.POLLIN)
        while any(pending.values()) or any(in_flight.values()):
            for socket, queue in pending.items():
                while queue and in_flight[socket] < window:
                    send(socket, "etat", seance=queue.pop())
                    in_flight[socket] += 1
            ready = dict(poller.poll(int(timeout * 1000)))
            if not ready:
                raise RuntimeError(f"shards stopped answering etat with {sum(in_flight.values())} in flight")
            for socket in ready:
                while socket.poll(0):
                    answered += bool(receive(socket).get("ok"))
                    in_flight[socket] -= 1
        return answered
    finally:
        shards.close()
