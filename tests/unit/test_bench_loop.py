"""The load generator's ZeroMQ clients (benchmarks/loop.py) against a stand-in shard on real
sockets: each client one request in flight, its replies counted, a stray reply stopping it."""

import threading

import zmq

from benchmarks.loop import Clients
from monclub.contract import protocol
from monclub.wire import codec as wire


def _shard(router: zmq.Socket, answers: int, reply) -> None:
    """Answer `answers` requests with reply(request)."""
    for _ in range(answers):
        *envelope, payload = router.recv_multipart()
        router.send_multipart([*envelope, wire.encode(reply(wire.decode(payload)))])


def _serve(reply, answers: int, slices: list[list[int]], kind: str = "monclub") -> list[dict]:
    context = zmq.Context.instance()
    router = context.socket(zmq.ROUTER)
    router.linger = 0
    port = router.bind_to_random_port("tcp://127.0.0.1")
    shard = threading.Thread(target=_shard, args=(router, answers, reply), daemon=True)
    shard.start()
    try:
        clients = Clients(kind, [f"tcp://127.0.0.1:{port}"], 1, ["s1"], slices, seed=1)
        return clients.run(budget=30.0, reply_timeout=10.0)
    finally:
        shard.join(timeout=10)
        router.close(linger=0)


def test_every_client_registers_its_members_one_at_a_time():
    seen = []

    def reply(request):
        seen.append((request["op"], request["seance"], request["membre"]))
        code = "deja_inscrit" if request["membre"] == 5 else None
        if code:
            return protocol.error(request["id"], code, "déjà inscrit")
        return protocol.ok(request["id"], {"statut": "inscrit"})

    samples = _serve(reply, 6, [[1, 2, 3], [4, 5, 6]])
    assert sorted(seen) == [("inscrire", "s1", membre) for membre in range(1, 7)]
    assert [len(sample["latencies"]) for sample in samples] == [3, 2]
    assert samples[1]["errors"] == {"deja_inscrit": 1}
    assert all(sample["ended"] > 0 for sample in samples)


def test_a_reply_to_another_request_stops_its_client():
    samples = _serve(lambda request: protocol.ok("autre", {}), 1, [[1, 2, 3]])
    assert samples == [{"latencies": [], "errors": {"unmatched": 1}, "ended": 0.0}]


def test_the_ping_kind_asks_the_no_op():
    ops = []

    def reply(request):
        ops.append(request["op"])
        return protocol.ok(request["id"], {})

    samples = _serve(reply, 2, [[1, 2]], kind="ping")
    assert ops == ["ping", "ping"] and len(samples[0]["latencies"]) == 2
