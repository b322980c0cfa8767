"""The breakdown phase: where the time of one registration goes at 1 client, from timings.

Registrations through the shard are timed one at a time, on a séance of their own (their p50 is
the figure to explain), each followed by one sample of each piece that crosses a process, in a
fixed order that follows the shard's (its wake-up, then the write); then the in-process pieces are
timed as many times. All on the same data, through public paths only (the
wire, the pure domain, SQL on a psycopg connection as the shard's role):

  client encode   protocol.request + wire.encode of the real request (a fresh uuid4 id)
  ZeroMQ hop      a round trip to the same shard of a registration without its membre, which the
                  shard refuses as it parses it: both sockets, the shard's loop, and a small
                  decode and encode (a `ping` would also build the process's status, a reply six
                  times larger: 244 µs at the median in the full run of 617ab36, where this took
                  197 µs in the breakdown run of 02b2ce6)
  shard decode    wire.decode + the op table's parse of the request's bytes
  decide          the domain's decide, apply, result, reply map and outbox record
                  (monclub.reunions.domain) on the séance as it is after the registrations, and
                  the request's fingerprint (stored with its reply)
  reply encode    wire.encode of the reply, twice: the shard stores the encoded reply with the
                  batch and encodes it again to send it
  SQL write       the statements of a batch of one (benchmarks/statements.py), on a séance of the
                  same partition, in one autocommit pipeline committed at its Sync, sent as the
                  shard sends them (monclub.db.pipeline): one round trip, the WAL flush included
  reply decode    wire.decode of the reply, on the client

The sum of the pieces' medians is set against the registrations' median; what is left is the Python
around them in the shard and the client (batching, routing, counters, frames), which cannot be
timed apart without touching monclub/. The SQL write is also split apart, not summed: BEGIN and the
statements in one pipeline (a round trip, the statements executed), then COMMIT alone (the WAL
flush and a round trip), a bare round trip (SELECT 1); and the shard's own mean write time, by the
commit counters of its ping.
"""

import statistics
import time
import uuid
from collections.abc import Callable, Iterable

import zmq

from benchmarks import statements
from benchmarks.ceiling import TITRE, durable
from benchmarks.dealer import Shards, load_all
from benchmarks.harness import add_membres
from benchmarks.load import REPLY_TIMEOUT
from benchmarks.population import insert_seances, owned_ids
from benchmarks.shards import endpoints
from monclub.cluster.partition import partition_of
from monclub.contract import protocol
from monclub.db import connect
from monclub.db.pipeline import Pipelined
from monclub.reunions import seance as core
from monclub.reunions.domain import Seances
from monclub.reunions.ops import OPS
from monclub.shards.domain import outbox_records
from monclub.wire import codec as wire
from monclub.wire.stored import empreinte

PIECES = (
    ("client_encode", "client: encode the request", 1),
    ("hop", "ZeroMQ hop (a request refused at once)", 1),
    ("shard_decode", "shard: decode and parse", 1),
    ("decide", "shard: decide ... record, fingerprint", 1),
    ("reply_encode", "shard: encode the reply (x2)", 2),
    ("whole", "SQL: the batch, committed at its Sync", 1),
    ("reply_decode", "client: decode the reply", 1),
)
APART = (
    ("statements", "split: BEGIN + statements, 1 round trip"),
    ("commit", "split: COMMIT (WAL flush, a round trip)"),
    ("round_trip", "a bare round trip (SELECT 1)"),
    ("shard_write", "the shard's write, mean of its counters"),
)


def clock(action: Callable, *args) -> float:
    """Seconds of one `action(*args)`."""
    began = time.perf_counter()
    action(*args)
    return time.perf_counter() - began


def timed(action: Callable, items: Iterable) -> list[float]:
    """Seconds of `action(item)` for each item."""
    return [clock(action, item) for item in items]


def median_us(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1e6, 1)


def table(p50_us: dict[str, float], measured_us: float) -> dict:
    """The pieces in order, each p50 times how often a registration pays it, their sum, and what
    the sum leaves of the measured registration's p50 (pure)."""
    pieces = [
        {"piece": key, "what": what, "times": times, "p50_us": p50_us[key], "us": round(times * p50_us[key], 1)}
        for key, what, times in PIECES
    ]
    total = round(sum(piece["us"] for piece in pieces), 1)
    return {
        "pieces": pieces,
        "sum_us": total,
        "measured_p50_us": measured_us,
        "unexplained_us": round(measured_us - total, 1),
        "apart": [{"piece": key, "what": what, "p50_us": p50_us[key]} for key, what in APART],
    }


def lines(breakdown: dict, hot_p50_ms: float | None = None) -> list[str]:
    """The breakdown as printed rows (pure)."""
    measured = breakdown["measured_p50_us"]
    out = [f"{'piece':<40} {'x':>3} {'p50 µs':>9} {'of p50':>7}"]
    for piece in breakdown["pieces"]:
        share = f"{piece['us'] / measured:.1%}" if measured else "-"
        out.append(f"{piece['what']:<40} {piece['times']:>3} {piece['us']:>9.1f} {share:>7}")
    out.append(f"{'sum of the pieces':<40} {'':>3} {breakdown['sum_us']:>9.1f}")
    out.append(f"{'measured: a registration, 1 client, p50':<40} {'':>3} {measured:>9.1f}")
    out.append(f"{'left: Python around the pieces':<40} {'':>3} {breakdown['unexplained_us']:>9.1f}")
    out.append("not in the sum:")
    out += [f"{piece['what']:<40} {'':>3} {piece['p50_us'] or '-':>9}" for piece in breakdown["apart"]]
    if hot_p50_ms is not None:
        out.append(f"{'hot phase, 1 client, MonClub p50':<40} {'':>3} {hot_p50_ms * 1000:>9.1f}")
    return out


def report(breakdown: dict, hot_p50_ms: float | None = None) -> None:
    print(
        f"\nbreakdown: one registration at 1 client, {breakdown['samples']:,} samples of each piece "
        f"(request {breakdown['bytes']['request']} B, reply {breakdown['bytes']['reply']} B, "
        f"ping reply {breakdown['bytes']['ping_reply']} B)"
    )
    for line in lines(breakdown, hot_p50_ms):
        print(line)


def sibling(seance: str, partitions: int) -> str:
    """Another séance id of the same partition."""
    return next(
        name
        for name in (f"{seance}-sql-{n}" for n in range(100_000))
        if partition_of(name, partitions) == partition_of(seance, partitions)
    )


def shard_write_us(before: dict, after: dict) -> float | None:
    """The shard's mean time writing a batch between two of its ping replies, by its own commit
    counters (monclub/shards/stats.py); None when they are not there (pure)."""
    try:
        commits = [reply["result"]["stats"]["commit"] for reply in (before, after)]
        count = sum(commits[1]["counts"]) - sum(commits[0]["counts"])
        return round((commits[1]["sum"] - commits[0]["sum"]) / count * 1e6, 1) if count else None
    except (KeyError, TypeError):
        return None


def in_process(seance: str, registered: list[int], fresh: list[int], places: int) -> tuple[dict, dict]:
    """The client's and the shard's own pieces on the real request and reply; their sizes."""
    domain = Seances()
    state = core.seance(seance, TITRE, places, 0, 0, tuple(registered))

    def encode(membre: int) -> bytes:
        return wire.encode(protocol.request(uuid.uuid4().hex, "inscrire", seance=seance, membre=membre))

    def decide(request: protocol.Request) -> tuple[dict, list, bytes]:
        events = domain.decide(state, request, time.time())
        after = domain.apply(state, events)
        records = outbox_records(domain, events, after)
        return protocol.ok(request.id, domain.result(request.op, events, after), 1), records, empreinte(request)

    payloads = [encode(membre) for membre in fresh]
    requests = [OPS.parse(wire.decode(payload)) for payload in payloads]
    replies = [decide(request)[0] for request in requests]
    encoded = [wire.encode(reply) for reply in replies]
    p50 = {
        "client_encode": median_us(timed(encode, fresh)),
        "shard_decode": median_us(timed(lambda payload: OPS.parse(wire.decode(payload)), payloads)),
        "decide": median_us(timed(decide, requests)),
        "reply_encode": median_us(timed(wire.encode, replies)),
        "reply_decode": median_us(timed(wire.decode, encoded)),
    }
    return p50, {"request": len(payloads[0]), "reply": len(encoded[0])}


def writer_of(conn, seance: str, partitions: int) -> statements.Writer:
    partition = partition_of(seance, partitions)
    owner, epoch = conn.execute(
        "SELECT owner, epoch FROM partitions WHERE branch = 'reunions' AND partition = %s", (partition,)
    ).fetchone()
    return statements.Writer("reunions", partition, epoch, owner)


def _split(pipelined: Pipelined, batch: list) -> tuple[float, float]:
    """BEGIN and the batch's statements in one pipeline, then COMMIT: their seconds."""
    return clock(pipelined.commit, [("BEGIN", ()), *batch]), clock(pipelined.conn.execute, "COMMIT")


class Rounds:
    """One sample of each piece that crosses a process, taken in turn (so that a change of the
    machine's load shows in every piece alike): a registration through the shard, a request the
    same shard refuses at once, and the SQL of batches of one on another séance of its partition,
    as the shard's role."""

    KEYS = ("registration", "hop", "whole", "statements", "commit", "round_trip")

    def __init__(self, shards: Shards, conn, seance: str, sql_seance: str, partitions: int, reply: bytes):
        self.shards, self.conn, self.seance, self.reply = shards, conn, seance, reply
        self.pipelined = Pipelined(conn)
        self.target = statements.seance_named(sql_seance, TITRE, 0)
        self.writer = writer_of(conn, sql_seance, partitions)
        self.samples: dict[str, list[float]] = {key: [] for key in self.KEYS}

    def inscrire(self, membre: int) -> None:
        reply = self.shards.call("inscrire", self.seance, membre=membre)
        if reply is None or not reply["ok"]:
            raise RuntimeError(f"a breakdown registration failed: {reply}")

    def hop(self) -> None:
        reply = self.shards.refused(self.seance)
        if reply is None or reply["ok"] or reply["error"]["code"] != "invalid_request":
            raise RuntimeError(f"the breakdown's hop was not refused at once: {reply}")

    def batch(self, membre: int) -> list:
        request = protocol.Request(uuid.uuid4().hex, "inscrire", {"seance": self.target.id, "membre": membre})
        return statements.batch_of_one(self.writer, self.target, membre, request.id, self.reply, empreinte(request))

    def take(self, membre: int, first: int, second: int) -> None:
        """`membre` registers through the shard; `first` and `second` through SQL."""
        add = self.samples
        add["registration"].append(clock(self.inscrire, membre))
        add["hop"].append(clock(self.hop))
        add["whole"].append(clock(self.pipelined.commit, self.batch(first)))
        sent, committed = _split(self.pipelined, self.batch(second))
        add["statements"].append(sent)
        add["commit"].append(committed)
        add["round_trip"].append(clock(self.conn.execute, "SELECT 1"))


def crossing(config, app_conninfo: str, seances: tuple[str, str], through: list[int], fresh: list[int]) -> dict:
    """The p50 of each crossing piece (Rounds), and the shard's own mean write time over them."""
    shards = Shards(zmq.Context.instance(), endpoints(config), REPLY_TIMEOUT, config.partitions)
    reply = wire.encode(protocol.ok(uuid.uuid4().hex, {"statut": "inscrit"}, 1))
    try:
        with connect(app_conninfo, autocommit=True) as conn:
            durable(conn)
            rounds = Rounds(shards, conn, *seances, config.partitions, reply)
            before = shards.ping(seances[0]) or {}
            for membre, *sql in zip(through, fresh[0::2], fresh[1::2], strict=True):
                rounds.take(membre, *sql)
            after = shards.ping(seances[0]) or {}
    finally:
        shards.close()
    return {
        **{key: median_us(values) for key, values in rounds.samples.items()},
        "shard_write": shard_write_us(before, after),
        "ping_reply_bytes": len(wire.encode(after)),
    }


def measure(config, conninfo: str, app_conninfo: str, samples: int) -> dict:
    """`samples` rounds (a registration through the shard and each crossing piece), then the
    in-process pieces as many times, on new membres."""
    print(f"breakdown: {samples} registrations at 1 client, each piece apart in turn...", flush=True)
    membres = add_membres(conninfo, 3 * samples)
    through, fresh = membres[:samples], membres[samples:]
    seances = owned_ids("breakdown", 1)[0], sibling(owned_ids("breakdown", 1)[0], config.partitions)
    insert_seances(conninfo, list(seances), places=len(membres))
    load_all(zmq.Context.instance(), endpoints(config), [seances[0]], config.partitions)
    p50 = crossing(config, app_conninfo, seances, through, fresh)
    in_place, sizes = in_process(seances[0], through, fresh[:samples], len(membres))
    return {
        "samples": samples,
        "bytes": {**sizes, "ping_reply": p50.pop("ping_reply_bytes")},
        **table({**p50, **in_place}, p50["registration"]),
    }
