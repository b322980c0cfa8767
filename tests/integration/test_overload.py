"""A flood on one shard is bounded by ZeroMQ's high-water marks: senders are pushed back (their
sends would block: to a client, that is a timeout), the shard's memory stays within what its queues
can hold, nothing is half-applied, and a normal client is served once the flood stops."""

import time

import zmq

from monclub.contract import protocol
from monclub.errors import Timeout, Unavailable
from monclub.shards import server
from monclub.wire import codec as wire
from tests.fixtures.postgres import add_membres
from tests.fixtures.waiting import wait_for

DEALERS = 16
QUOTA = 1000  # requests each DEALER tries to send: 16,000 in all, bounded
HWM = 100  # the shard's [reunions] hwm for this test, and each DEALER's sndhwm
FLOOD_SECONDS = 3.0
DRAIN_SECONDS = 60.0
# One queued ZeroMQ message costs its zmq_msg_t (64 bytes, in the pipe's chunk) plus, above 33
# bytes, a heap block holding the payload and a 40-byte header, rounded up by malloc (16 bytes).
MSG_OVERHEAD = 64 + 40 + 16
# What each applied registration adds to the shard's memory: the member id in the séance's tuple
# of inscrits (8-byte slot + 32-byte int) and in the set of known members (~60 bytes a slot).
STATE_PER_REGISTRATION = 8 + 32 + 60
# A batch (group commit) holds at most server.BATCH_MAX requests at a time, each as Python objects:
# its frames, the decoded map, the Request, the reply map and its encoding, about 1 KiB in all.
PER_BATCHED_REQUEST = 1024
# The allocators' working set, whatever the flood: Python's obmalloc arenas (256 KiB each), and
# glibc's heaps, which keep freed memory up to a trim threshold that rises to twice the largest
# block freed (here the séance's growing tuple of inscrits, 128 KiB at 16,000 members). A few MiB;
# a fraction of what an unbounded queue, or a copy of the séance per batched command, would take.
ALLOCATOR_SLACK = 8 * 1024 * 1024


def rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


def queue_bound(request_bytes: int, reply_bytes: int) -> int:
    """Per DEALER, the shard holds at most HWM requests in its receive pipe and HWM replies in its
    send pipe (past the send HWM, a ROUTER drops replies); the I/O thread reads no more from
    the kernel while the receive pipe is full."""
    return DEALERS * HWM * (request_bytes + reply_bytes + 2 * MSG_OVERHEAD)


def inscrire(i: int, j: int, membre: int) -> bytes:
    return wire.encode(protocol.request(f"flood-{i:02d}-{j:05d}", "inscrire", seance="flood", membre=membre))


def test_a_flood_is_bounded_and_nothing_is_half_applied(start_reunions, sql):
    reunions = start_reunions(shards=1, config=f"[reunions]\nhwm = {HWM}\n")
    membres = add_membres(sql, DEALERS * QUOTA + 2)
    with reunions.client() as client:
        client.creer("flood", "Flood", places=protocol.MAX_COUNT)
        client.inscrire("flood", membres[-1])
    pid = reunions.shard_pids()[0]
    before = rss(pid)

    payloads = [[inscrire(i, j, membres[i * QUOTA + j]) for j in range(QUOTA)] for i in range(DEALERS)]
    sockets = []
    for _ in range(DEALERS):
        socket = zmq.Context.instance().socket(zmq.DEALER)
        socket.linger = 0
        socket.sndhwm = HWM
        socket.connect(reunions.config.endpoint("reunions", 0))
        sockets.append(socket)
    poller = zmq.Poller()
    for socket in sockets:
        poller.register(socket, zmq.POLLIN)
    sent = [0] * DEALERS
    replies: dict[str, dict] = {}
    pushed_back = 0
    peak = before
    reply_bytes = 0

    def read(timeout_ms: int) -> None:
        nonlocal reply_bytes
        for socket, _ in poller.poll(timeout_ms):
            while socket.poll(0):
                frame = socket.recv_multipart()[-1]
                reply_bytes = max(reply_bytes, len(frame))
                reply = wire.decode(frame)
                replies[reply["id"]] = reply

    probes = {"served": 0, "timeout": 0, "unavailable": 0}
    flood_ends = time.monotonic() + FLOOD_SECONDS
    next_probe = time.monotonic()
    while time.monotonic() < flood_ends and sum(sent) < DEALERS * QUOTA:
        for i, socket in enumerate(sockets):
            while sent[i] < QUOTA:
                try:
                    socket.send_multipart([b"", payloads[i][sent[i]]], zmq.NOBLOCK)
                except zmq.Again:
                    pushed_back += 1
                    break
                sent[i] += 1
        read(5)
        peak = max(peak, rss(pid))
        if time.monotonic() >= next_probe:
            try:
                with reunions.client(attempt_timeout=0.2, deadline=0.4) as client:
                    client.ping(0)
                probes["served"] += 1
            except Timeout:
                probes["timeout"] += 1
            except Unavailable:
                probes["unavailable"] += 1
            next_probe = time.monotonic() + 0.5

    # The flood stops. A ping on each DEALER comes back after every request it sent before it.
    for i, socket in enumerate(sockets):
        socket.send_multipart([b"", wire.encode(protocol.request(f"drained-{i:02d}", "ping"))])
    drain_ends = time.monotonic() + DRAIN_SECONDS
    while not all(f"drained-{i:02d}" in replies for i in range(DEALERS)):
        assert time.monotonic() < drain_ends, "the shard drains its queues"
        read(50)
        peak = max(peak, rss(pid))
    for socket in sockets:
        socket.close()

    assert pushed_back > 0, "the flood outran the shard: the high-water marks pushed senders back"
    request_bytes = max(len(p) for row in payloads for p in row)
    applied_at_most = sum(sent)
    bound = (
        queue_bound(request_bytes, reply_bytes)
        + server.BATCH_MAX * (request_bytes + PER_BATCHED_REQUEST)
        + applied_at_most * STATE_PER_REGISTRATION
        + ALLOCATOR_SLACK
    )
    print(
        f"sent {sum(sent)}, pushed back {pushed_back} times, probes {probes}, "
        f"RSS before {before / 2**20:.1f} MiB, peak {peak / 2**20:.1f} MiB, bound +{bound / 2**20:.1f} MiB"
    )
    assert peak - before <= bound

    # Every request the shard answered ok is applied exactly once; every registration is atomic
    # (an inscriptions row if and only if its requests row); what was never sent left nothing.
    ok = {rid for rid, reply in replies.items() if rid.startswith("flood-") and reply["ok"]}
    codes = {reply["error"]["code"] for reply in replies.values() if not reply["ok"]}
    assert codes <= {"unavailable"}, codes
    recorded = {row[0] for row in sql.execute("SELECT id FROM requests WHERE id LIKE 'flood-%'")}
    inscrits = {row[0] for row in sql.execute("SELECT membre_id FROM inscriptions WHERE seance_id = 'flood'")}
    assert ok <= recorded
    for i in range(DEALERS):
        for j in range(QUOTA):
            rid, membre = f"flood-{i:02d}-{j:05d}", membres[i * QUOTA + j]
            assert (rid in recorded) == (membre in inscrits), rid
            assert j < sent[i] or rid not in recorded, rid
    assert sql.execute("SELECT inscrits FROM seances WHERE id = 'flood'").fetchone() == (len(inscrits),)
    assert len(ok) > 0

    # Service resumes: a normal client is served, by the same process, and memory went back
    # within the bound.
    with reunions.client(deadline=5) as client:
        assert client.inscrire("flood", membres[-2]) == {"statut": "inscrit"}
        assert client.ping(0)["pid"] == pid
    wait_for(lambda: rss(pid) - before <= bound, 10, "the shard's memory to stay within the bound")
