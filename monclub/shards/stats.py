"""A shard's own counters, answered with its ping (never written anywhere): commands by op and
outcome, histograms of its batch sizes and commit latencies (for the web program's /metrics), and
the aggregates it unloaded, by cause (monclub.shards.memory: `idle`, `max_loaded`).

Cumulative since the shard process started (a restart starts them again, as Prometheus expects
of a counter). Sized to fit a ping reply within the wire's limits (monclub.wire.codec).
"""

import bisect
from collections import Counter

BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
COMMIT_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
MAX_OUTCOMES = 300


class Histogram:
    def __init__(self, bounds: tuple):
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value

    def snapshot(self) -> dict:
        return {"bounds": list(self.bounds), "counts": list(self.counts), "sum": self.sum}


class Stats:
    def __init__(self) -> None:
        self.batches = Histogram(BATCH_BUCKETS)
        self.commits = Histogram(COMMIT_BUCKETS)
        self.outcomes: Counter[tuple[str, str]] = Counter()
        self.unloaded: Counter[str] = Counter()

    def committed(self, size: int, seconds: float) -> None:
        self.batches.observe(size)
        self.commits.observe(seconds)

    def answered(self, ops: list[str], replies: list[dict | None]) -> None:
        """Each command's outcome: ok, its error code, or unknown (no answer for now); pings aside."""
        for op, reply in zip(ops, replies, strict=True):
            if op == "ping":
                continue
            outcome = "unknown" if reply is None else "ok" if reply["ok"] else reply["error"]["code"]
            if (op, outcome) in self.outcomes or len(self.outcomes) < MAX_OUTCOMES:
                self.outcomes[(op, outcome)] += 1

    def snapshot(self) -> dict:
        return {
            "batch": self.batches.snapshot(),
            "commit": self.commits.snapshot(),
            "outcomes": [[op, outcome, n] for (op, outcome), n in sorted(self.outcomes.items())],
            "unloaded": {cause: self.unloaded[cause] for cause in ("idle", "max_loaded")},
        }
