"""Recovery after kill -9 of a shard, whatever it owns, and the memory a loaded séance costs.

Each level gives every shard N séances in the database (bulk SQL); "loaded" levels also have the
killed shard load its first N séances (an etat each) just before the kill, and measure its RSS
before and after that load. A shard loads séances lazily, so owning more in the database should
not slow its restart, and a loaded shard restarts empty.

One kill: the killed shard must have run RestartPolicy.stable_after seconds (so it is restarted
without delay; kills rotate over the shards so that this is mostly already the case), the
supervisor's spare must be ready (so the restart is the spare's, as after any crash of a tree at
rest: monclub.supervision.spare; each kill records whether it was), and a probe must have had one
reply from it. Then SIGKILL, and the probe, a raw DEALER reconnecting every
2 ms, sends `etat` on a séance of that shard every RESEND seconds (only once the killed process is
gone, so that the reply can only come from its successor) until a reply is ok: the figure is the
time from the kill to that reply, loading the séance from PostgreSQL included.
"""

import os
import signal
import time
from statistics import median

import zmq

from benchmarks.dealer import load_all, open_dealer, receive, send
from benchmarks.harness import wait_until
from benchmarks.population import insert_seances, owned_ids
from benchmarks.shards import child, endpoints, loaded, rss_kib, spare_ready, wait_stable
from monclub.tree import supervisord as tree

RESEND = 0.003  # seconds between two probe requests
RECONNECT_MS = 2
GIVE_UP = 15.0  # seconds after the kill


class Population:
    """The séances each shard owns in the database, grown level by level."""

    def __init__(self, conninfo: str, shards: int, partitions: int):
        self.conninfo = conninfo
        self.partitions = partitions
        self.owned: list[list[str]] = [[] for _ in range(shards)]

    def grow(self, count: int) -> None:
        for shard, ids in enumerate(self.owned):
            if len(ids) < count:
                start = int(ids[-1].rsplit("-", 1)[1]) + 1 if ids else 0
                more = owned_ids(f"owned{shard}", count - len(ids), shard, len(self.owned), start, self.partitions)
                insert_seances(self.conninfo, more, places=10)
                ids.extend(more)


def probe_after_kill(endpoint: str, seance: str, pid: int) -> tuple[float, int, int]:
    """(ms from the kill to the first ok reply, requests sent, 'unavailable' replies seen)."""
    socket = open_dealer(zmq.Context.instance(), endpoint, RECONNECT_MS, immediate=True)
    try:
        first = send(socket, "etat", seance=seance)
        if not socket.poll(5000) or receive(socket).get("id") != first:
            raise RuntimeError(f"shard at {endpoint} did not answer before the kill")
        killed = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not tree.alive(pid), 5, f"pid {pid} to die", 0.0002)
        ours, sent, unavailable = set(), 0, 0
        while time.monotonic() - killed < GIVE_UP:
            try:
                ours.add(send(socket, "etat", zmq.NOBLOCK, seance=seance))
                sent += 1
            except zmq.Again:
                pass
            deadline = time.monotonic() + RESEND
            while (left := deadline - time.monotonic()) > 0 and socket.poll(max(1, int(left * 1000))):
                reply = receive(socket)
                if reply.get("id") in ours and reply.get("ok"):
                    return (time.monotonic() - killed) * 1000, sent, unavailable
                unavailable += reply.get("error", {}).get("code") == "unavailable"
        raise RuntimeError(f"no ok reply within {GIVE_UP}s of killing pid {pid}")
    finally:
        socket.close(linger=0)


def level(config, population: Population, owned: int, loaded_count: int, kills: int) -> dict:
    """`kills` kills with every shard owning `owned` séances, the killed one with `loaded_count`
    of them in memory."""
    population.grow(max(owned, loaded_count))
    samples, sends, unavailable, rss, spares = [], [], [], [], []
    for k in range(kills):
        shard = k % config.shards
        pid = wait_stable(config, shard)
        spare = spare_ready(config)
        if loaded_count:
            before = rss_kib(pid)
            seances = population.owned[shard][:loaded_count]
            load_all(zmq.Context.instance(), endpoints(config), seances, config.partitions)
            in_memory = loaded(config, shard)
            rss.append({"before_kib": before, "after_kib": rss_kib(pid), "loaded": in_memory})
        ms, sent, refused = probe_after_kill(config.endpoint("reunions", shard), population.owned[shard][0], pid)
        samples.append(ms)
        spares.append(child(config, shard).get("pid") == spare)
        sends.append(sent)
        unavailable.append(refused)
    return {
        "owned": owned,
        "loaded": loaded_count,
        "kills": kills,
        "median_ms": round(median(samples), 2),
        "max_ms": round(max(samples), 2),
        "samples_ms": [round(s, 2) for s in samples],
        "probe_sends": sends,
        "unavailable_replies": unavailable,
        "in_the_spare": spares,
        "memory": memory(rss, loaded_count) if rss else None,
    }


def memory(rss: list[dict], count: int) -> dict:
    """KiB of RSS per loaded séance, median over the loads."""
    per = sorted((r["after_kib"] - r["before_kib"]) / count for r in rss)
    return {
        "seances": count,
        "kib_per_seance": round(median(per), 3),
        "max_kib_per_seance": round(per[-1], 3),
        "samples": rss,
    }


def recovery(config, conninfo: str, owned_levels: list[int], loaded_count: int, kills: int) -> list[dict]:
    population = Population(conninfo, config.shards, config.partitions)
    levels = [level(config, population, owned, 0, kills) for owned in owned_levels]
    if loaded_count:
        levels.append(level(config, population, loaded_count, loaded_count, kills))
    return levels
