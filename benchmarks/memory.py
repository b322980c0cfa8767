"""A shard's memory under passivation: N séances touched once each, RSS sampled all along.

Run:  scripts/bench memory [--seances 1000000] [--max-loaded 100000] [--op inscrire|etat]

On a private PostgreSQL, creates N idle séances in bulk (COPY: a shard loads a séance lazily, so
this is the same as séances created through it) and --membres members, starts the Réunions
supervisor alone with ONE shard process (it hosts every partition) and `[reunions] max_loaded`,
then sends one command to each séance (`inscrire` by default: a member registered, a decision
written, its state kept; `etat` loads and answers only), --window at a time. Every --every seconds
it samples the shard's RSS (VmRSS of /proc/PID/status) and its `loaded` count (its ping), prints
the sample, and keeps it. Target: once `max_loaded` séances are loaded, RSS stays flat: its
highest value after that point is at most FLAT_GROWTH above its value there. One JSON line is
appended to benchmarks/results.jsonl ("benchmark": "memory"), with every sample.
"""

import argparse
import signal
import sys
import time

import zmq

from benchmarks.dealer import open_dealer, receive, send
from benchmarks.harness import RESULTS, add_membres, code_version, machine, record, sandbox, stop, utc_now
from benchmarks.population import insert_seances, owned_ids
from benchmarks.profile import shard_pid
from benchmarks.shards import loaded, rss_kib, start_reunions
from benchmarks.targets import verdict

FLAT_GROWTH = 0.10
COPY_ROWS = 100_000  # séances per COPY transaction


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seances", type=int, default=1_000_000, help="séances touched once each")
    parser.add_argument("--max-loaded", type=int, default=100_000, help="[reunions] max_loaded of the shard")
    parser.add_argument("--op", choices=("inscrire", "etat"), default="inscrire", help="the command sent to each")
    parser.add_argument("--membres", type=int, default=1000, help="members the registrations cycle through")
    parser.add_argument("--window", type=int, default=64, help="requests in flight")
    parser.add_argument("--every", type=float, default=1.0, help="seconds between two samples")
    return parser.parse_args(argv)


class Sampler:
    """The shard's RSS and loaded count, every `every` seconds of the run."""

    def __init__(self, config, pid: int, every: float):
        self.config, self.pid, self.every = config, pid, every
        self.started = time.monotonic()
        self.next = self.started
        self.samples: list[dict] = []

    def maybe(self, touched: int, force: bool = False) -> None:
        now = time.monotonic()
        if now < self.next and not force:
            return
        self.next = now + self.every
        sample = {
            "seconds": round(now - self.started, 2),
            "touched": touched,
            "loaded": loaded(self.config, 0),
            "rss_kib": rss_kib(self.pid),
        }
        self.samples.append(sample)
        print(f"  {sample['seconds']:8.1f} s  touched {touched:>9}  loaded {sample['loaded']:>7}  "
              f"RSS {sample['rss_kib'] / 1024:8.1f} MiB", flush=True)  # fmt: skip


def touch_all(args, config, endpoint: str, seances: list[str], membres: list[int], sampler: Sampler) -> int:
    """One command to each séance, `args.window` in flight; the number of replies that were not ok."""
    socket = open_dealer(zmq.Context.instance(), endpoint)
    refused, sent, answered = 0, 0, 0
    try:
        while answered < len(seances):
            while sent < len(seances) and sent - answered < args.window:
                fields = {"membre": membres[sent % len(membres)]} if args.op == "inscrire" else {}
                send(socket, args.op, seance=seances[sent], **fields)
                sent += 1
            if not socket.poll(30_000):
                raise RuntimeError(f"the shard stopped answering with {sent - answered} requests in flight")
            while socket.poll(0):
                refused += not receive(socket).get("ok")
                answered += 1
            sampler.maybe(answered)
        sampler.maybe(answered, force=True)
    finally:
        socket.close(linger=0)
    return refused


def flatness(samples: list[dict], max_loaded: int) -> dict:
    """RSS when `max_loaded` séances were first loaded, and its highest value after that."""
    full = [sample for sample in samples if sample["loaded"] >= max_loaded]
    if not full:
        return {"reached": None, "rss_at_max_loaded_kib": None, "rss_after_max_kib": None, "growth": None}
    after = max(sample["rss_kib"] for sample in full)
    return {
        "reached": full[0]["touched"],
        "rss_at_max_loaded_kib": full[0]["rss_kib"],
        "rss_after_max_kib": after,
        "rss_end_kib": samples[-1]["rss_kib"],
        "growth": round(after / full[0]["rss_kib"] - 1, 4),
    }


def run(args) -> dict:
    with sandbox() as (base, home, cluster):
        conninfo = cluster.conninfo()
        seances = owned_ids("mem", args.seances)
        print(f"creating {len(seances)} séances and {args.membres} members in PostgreSQL...", flush=True)
        for start in range(0, len(seances), COPY_ROWS):
            insert_seances(conninfo, seances[start : start + COPY_ROWS], places=10)
        membres = add_membres(conninfo, args.membres)
        config, supervisor = start_reunions(base, home, cluster, 1, f"max_loaded = {args.max_loaded}\n")
        try:
            pid = shard_pid(config, 0, "reunions")
            print(f"reunions/shard-0 (pid {pid}): one {args.op} on each séance, max_loaded {args.max_loaded}")
            sampler = Sampler(config, pid, args.every)
            started = time.monotonic()
            refused = touch_all(args, config, config.endpoint("reunions", 0), seances, membres, sampler)
            seconds = time.monotonic() - started
        finally:
            stop(supervisor, signal.SIGTERM, 30)
        found = machine(conninfo)
    return {
        "date": utc_now(),
        "benchmark": "memory",
        "code": code_version(),
        "machine": found,
        "seances": args.seances,
        "max_loaded": args.max_loaded,
        "op": args.op,
        "seconds": round(seconds, 1),
        "per_second": round(args.seances / seconds),
        "refused": refused,
        "rss": flatness(sampler.samples, args.max_loaded),
        "samples": sampler.samples,
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    result = run(args)
    rss = result["rss"]
    ok = rss["growth"] is not None and rss["growth"] <= FLAT_GROWTH
    result["targets"] = [
        {
            "name": "shard RSS once max_loaded is reached, highest over first",
            "goal": f"<= +{FLAT_GROWTH:.0%}",
            "value": rss["growth"],
            "shown": "max_loaded never reached" if rss["growth"] is None else f"{rss['growth']:+.1%}",
            "pass": ok,
        }
    ]
    record(result)
    print(f"\n{result['seances']} séances, one {result['op']} each, in {result['seconds']} s "
          f"({result['per_second']}/s), {result['refused']} not ok")  # fmt: skip
    if rss["reached"] is not None:
        print(f"RSS at max_loaded ({rss['reached']} touched): {rss['rss_at_max_loaded_kib'] / 1024:.1f} MiB, "
              f"highest after: {rss['rss_after_max_kib'] / 1024:.1f} MiB, at the end: "
              f"{rss['rss_end_kib'] / 1024:.1f} MiB")  # fmt: skip
    target = result["targets"][0]
    print(f"{target['name']}: {target['shown']}, {target['goal']}: {verdict(target)}")
    print(f"appended to {RESULTS}")
    return 0 if ok and not result["refused"] else 1


if __name__ == "__main__":
    sys.exit(main())
