"""Instructions per registration in the shard's process, pure Python against the compiled build
(monclub/compiled.py), counted by valgrind's callgrind: the same whatever the machine's load.

    scripts/bench instructions [--runs 2] [--long 1280] [--short 320]

(it compiles the build first: scripts/install --compiled; valgrind must be installed). One private
PostgreSQL (benchmarks.harness.sandbox), not traced. Each count is a process of its own under
`valgrind --tool=callgrind` that runs, in that one process, the shard's path from the ROUTER's
frames to PostgreSQL and back: monclub.shards.server.answer on a ShardHost whose owner has the real
PostgreSQL store, registering fresh members on one new séance in batches of 32 (the hot case at 64
clients) or of 1 (the 1-client case); no relay waker, no socket. Every process makes the frames of
--long registrations, then answers all of them (the long run) or the first --short (the short
run): start-up, imports, the séance's creation and the frames cancel out in the difference, which
is divided by --long − --short. What is counted: callgrind's total of instructions executed (Ir) by
the whole process. The builds alternate, run after run.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.harness import add_membres, sandbox
from monclub import compiled
from monclub.cluster.partition import partition_of
from monclub.contract import protocol
from monclub.reunions.domain import Seances
from monclub.reunions.shard import seance_owner
from monclub.shards.host import ShardHost
from monclub.shards.server import answer
from monclub.wire import codec as wire
from tests.unit.test_shard_host import FixedDirectory

PARTITIONS = 16
BATCHES = {"hot, 64 clients": 32, "1 client": 1}
BUILDS = ("pure", "compiled")
PEER = [b"client", b""]


def frames(request: dict) -> list[bytes]:
    return [*PEER, wire.encode(request)]


def register(conninfo: str, seance: str, membres: list[int], answered: int, batch: int) -> bool:
    """Answer the first `answered` of the registrations of `membres` on a new `seance`, `batch` at
    a time; whether the hot modules ran compiled. Every reply must be a registration."""
    host = ShardHost(
        Seances(),
        "reunions/shard-0",
        "ipc:///instructions",
        PARTITIONS,
        lambda partition: seance_owner(partition, conninfo),
        lambda: None,
        FixedDirectory([]),
        [partition_of(seance, PARTITIONS)],
    )
    fields = {"seance": seance, "titre": seance, "places": len(membres), "attente": 0, "tarif": 0}
    creer = frames(protocol.request(f"creer-{seance}", "creer", **fields))
    inscrire = [frames(protocol.request(f"{seance}-{m}", "inscrire", seance=seance, membre=m)) for m in membres]
    batches = [inscrire[start : start + batch] for start in range(0, answered, batch)]
    try:
        [created] = answer(host, [creer])
        assert wire.decode(created[-1])["ok"], wire.decode(created[-1])
        for messages in batches:
            replies = answer(host, messages)
        statuts = {wire.decode(reply[-1])["result"]["statut"] for reply in replies}
        assert statuts == {"inscrit"}, statuts
    finally:
        host.close()
    return compiled.running()


def count(build: str, conninfo: str, seance: str, membres: list[int], answered: int, batch: int) -> int:
    """Instructions of one process registering on `seance` under callgrind, on `build`."""
    env = {key: value for key, value in os.environ.items() if key != "MONCLUB_COMPILED"}
    if build == "compiled":
        env["MONCLUB_COMPILED"] = "1"
    with tempfile.TemporaryDirectory(prefix="mc-callgrind-") as scratch:
        out = Path(scratch) / "callgrind.out"
        argv = [sys.executable, "-m", "benchmarks.instructions", "--worker", conninfo, seance, str(answered)]
        argv += [str(batch), ",".join(map(str, membres))]
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *argv],
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"the {build} run failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
        ran = done.stdout.split()[-1]
        if ran != str(build == "compiled"):
            raise RuntimeError(f"asked for the {build} build, the hot modules ran compiled: {ran}")
        return int(re.search(r"^totals: (\d+)", out.read_text(), re.MULTILINE).group(1))


def measure(runs: int, long: int, short: int) -> dict:
    """{case: {build: [instructions per registration, one per run]}}."""
    results: dict = {case: {build: [] for build in BUILDS} for case in BATCHES}
    with sandbox() as (_, _, cluster):
        conninfo = cluster.conninfo()
        membres = add_membres(conninfo, long)
        runs_made = 0
        for case, batch in BATCHES.items():
            for run in range(runs):
                for build in BUILDS if run % 2 == 0 else reversed(BUILDS):
                    totals = []
                    for answered in (long, short):
                        runs_made += 1
                        totals.append(count(build, conninfo, f"instr-{runs_made}", membres, answered, batch))
                    per = (totals[0] - totals[1]) / (long - short)
                    results[case][build].append(round(per))
                    print(f"{case}: {build}: {per:,.0f} instructions per registration", flush=True)
    return results


def report(results: dict) -> None:
    for case, builds in results.items():
        pure, fast = (sum(builds[build]) / len(builds[build]) for build in BUILDS)
        each = "; ".join(f"{build} " + ", ".join(f"{n:,}" for n in builds[build]) for build in BUILDS)
        print(f"{case}: {pure:,.0f} -> {fast:,.0f} instructions per registration ({fast / pure - 1:+.1%}) [{each}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2, help="runs of each build per case (default 2)")
    parser.add_argument("--long", type=int, default=1280, help="registrations of the long run (default 1,280)")
    parser.add_argument("--short", type=int, default=320, help="registrations of the short run (default 320)")
    parser.add_argument("--worker", nargs=5, metavar=("CONNINFO", "SEANCE", "ANSWERED", "BATCH", "MEMBRES"))
    args = parser.parse_args()
    if args.worker:
        conninfo, seance, answered, batch, membres = args.worker
        print(register(conninfo, seance, [int(m) for m in membres.split(",")], int(answered), int(batch)))
        return
    report(measure(args.runs, args.long, args.short))


if __name__ == "__main__":
    main()
