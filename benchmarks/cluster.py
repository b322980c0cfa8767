"""Several nodes on one machine: failover, hand-over, planned moves and throughput.

Run:  scripts/bench cluster [--kills 10] [--clients 8] [--window 10]   (as root: namespaces)

The multi-host tests' set-up (tests/fixtures/netns.py, tests/fixtures/cluster.py): PostgreSQL in
one network namespace over tcp with passwords, three nodes (`monclub start` trees) in three
others, the chaos drill's load from a client host throughout. In order:
- throughput with 3 nodes (operations acknowledged per second over --window seconds);
- `monclub node drain` of n2: requests failed meanwhile (target 0) and the hand-over time per
  partition (the drain's time over the partitions it moved); then `monclub node join` n2;
- `monclub reload` of n1: requests failed meanwhile (target 0);
- --kills node kills (kill -9 of every process of n1, then n2, alternately): the failover time, from
  the kill to the first committed reply for a partition of the lost node (one new aggregate per
  lost partition, all at once; the last of them is recorded too); the node is started again and
  takes its share back before the next kill;
- throughput with 2 nodes (n2 stopped) and 1 node (n1 stopped too): on 2 shared cores, expect no
  scaling; the point is that nothing collapses;
- the load stopped and audited.
Targets: failover median <= 3 s, max <= 10 s; 0 failed requests in the drain and the reload.
One JSON line is appended to benchmarks/results.jsonl ("benchmark": "cluster").
"""

import argparse
import statistics
import sys
import time

from benchmarks.harness import RESULTS, code_version, machine, record, utc_now, wait_until
from tests.fixtures.cluster import PARTITIONS, PRET_PARTITIONS, Cluster, LoadRunner, cluster
from tests.fixtures.netns import NODES, network, postgres_in

FAILOVER_MEDIAN, FAILOVER_MAX = 3.0, 10.0
SPLIT_TIMEOUT = 90


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=10, help="node kills (at least 10 for the figures)")
    parser.add_argument("--clients", type=int, default=8, help="client threads of the load")
    parser.add_argument("--window", type=float, default=10.0, help="seconds of each throughput measure")
    return parser.parse_args(argv)


def throughput(load: LoadRunner, window: float) -> float:
    """Operations acknowledged per second over `window` seconds."""
    before, started = load.acknowledged(), time.monotonic()
    time.sleep(window)
    return round((load.acknowledged() - before) / (time.monotonic() - started), 1)


def failed(load: LoadRunner) -> int:
    return sum(load.ask("progress")["failed"].values())


def split(made: Cluster, names: set[str]) -> bool:
    """Every partition owned, by these nodes only, each of them owning some."""
    return made.served_by(names) and set(made.owners().values()) == names


def wait_split(made: Cluster, names: set[str]) -> None:
    wait_until(lambda: split(made, names), SPLIT_TIMEOUT, f"the partitions to split between {sorted(names)}", 0.2)


def drain(made: Cluster, load: LoadRunner) -> dict:
    moved = len([key for key, owner in made.owners().items() if owner == "n2"])
    before, started = failed(load), time.monotonic()
    made.node("n0").monclub("node", "drain", "--node", "n2", "--timeout", "60")
    seconds = time.monotonic() - started
    result = {"partitions": moved, "seconds": round(seconds, 3), "failed_requests": failed(load) - before}
    made.node("n0").monclub("node", "join", "--node", "n2")
    wait_split(made, {"n0", "n1", "n2"})
    return {**result, "seconds_per_partition": round(seconds / moved, 3)}


def reload(made: Cluster, load: LoadRunner) -> dict:
    before, started = failed(load), time.monotonic()
    made.node("n1").monclub("reload")
    return {"seconds": round(time.monotonic() - started, 3), "failed_requests": failed(load) - before}


def kill(made: Cluster, load: LoadRunner, name: str) -> dict:
    """Kill every process of node `name`; seconds to the first and the last committed reply for
    its partitions; then the node started again and the partitions split again."""
    node = made.node(name)
    lost = sorted(key for key, owner in made.owners().items() if owner == name)
    killed_at = time.monotonic()
    node.kill()
    served = load.ask("serve", partitions=lost, since=killed_at)
    seconds = [s for s in served["seconds"] if s is not None]
    wait_until(lambda: not node.pids(), 30, f"every process of {name} to be gone", 0.05)
    node.start()
    wait_split(made, {"n0", "n1", "n2"})
    return {
        "node": name,
        "partitions": len(lost),
        "first_seconds": round(min(seconds), 3) if seconds else None,
        "last_seconds": round(max(seconds), 3) if seconds else None,
        "errors": served["errors"],
    }


def summary(values: list[float]) -> dict:
    return {
        "count": len(values),
        "median": round(statistics.median(values), 3) if values else None,
        "max": round(max(values), 3) if values else None,
    }


def run(args: argparse.Namespace) -> dict:
    with network(NODES, clients=1) as net, postgres_in(net) as server, cluster(net, server) as made:
        load = LoadRunner(made.client, clients=args.clients)
        try:
            wait_until(lambda: load.acknowledged() > 0, 60, "the load to run", 0.2)
            rates = {3: throughput(load, args.window)}
            print(f"throughput, 3 nodes: {rates[3]} op/s", flush=True)
            drained = drain(made, load)
            print(f"drain: {drained}", flush=True)
            reloaded = reload(made, load)
            print(f"reload: {reloaded}", flush=True)
            kills = []
            for index in range(args.kills):
                kills.append(kill(made, load, ("n1", "n2")[index % 2]))
                print(f"kill {index + 1}/{args.kills}: {kills[-1]}", flush=True)
            running = {"n0", "n1", "n2"}
            for stopped in ("n2", "n1"):
                made.node(stopped).monclub("stop")
                running.discard(stopped)
                wait_split(made, running)
                left = len(running)
                rates[left] = throughput(load, args.window)
                print(f"throughput, {left} node(s): {rates[left]} op/s", flush=True)
            report = load.ask("stop", timeout=180)
        finally:
            load.close()
        return {
            "machine": made.net.call(made.client.host, machine, made.database),
            "drain": drained,
            "reload": reloaded,
            "kills": kills,
            "throughput": {f"{nodes} nodes": rate for nodes, rate in sorted(rates.items())},
            "audit": {"violations": report["violations"], "outcomes": report["outcomes"]},
        }


def result_of(args: argparse.Namespace, figures: dict) -> dict:
    first = [k["first_seconds"] for k in figures["kills"] if k["first_seconds"] is not None]
    last = [k["last_seconds"] for k in figures["kills"] if k["last_seconds"] is not None]
    failover = summary(first)
    never = len(figures["kills"]) - len(first)
    return {
        "date": utc_now(),
        "benchmark": "cluster",
        "code": code_version(),
        "options": vars(args),
        "partitions": {"reunions": PARTITIONS, "prets": PRET_PARTITIONS},
        **figures,
        "failover_seconds": failover,
        "all_lost_partitions_served_seconds": summary(last),
        "targets": [
            _target("failover, median", f"<= {FAILOVER_MEDIAN:.0f} s", failover["median"], FAILOVER_MEDIAN, never),
            _target("failover, max", f"<= {FAILOVER_MAX:.0f} s", failover["max"], FAILOVER_MAX, never),
            _target("failed requests in a drain", "0", figures["drain"]["failed_requests"], 0, 0),
            _target("failed requests in a reload", "0", figures["reload"]["failed_requests"], 0, 0),
        ],
    }


def _target(name: str, goal: str, value, limit: float, never: int) -> dict:
    return {"name": name, "goal": goal, "value": value, "pass": value is not None and value <= limit and not never}


def main(argv=None) -> int:
    args = parse_args(argv)
    result = result_of(args, run(args))
    record(result)
    print(f"\ncluster benchmark ({result['date']}, code {result['code']}):")
    print(f"throughput (op/s): {result['throughput']}")
    print(f"hand-over per partition: {result['drain']['seconds_per_partition']} s")
    print(f"every lost partition served again (s): {result['all_lost_partitions_served_seconds']}")
    for target in result["targets"]:
        print(f"{target['name']}: {target['value']} ({target['goal']}): {'PASS' if target['pass'] else 'MISS'}")
    print(f"audit: {'clean' if not result['audit']['violations'] else result['audit']['violations']}")
    print(f"appended to {RESULTS}")
    return 0 if all(t["pass"] for t in result["targets"]) and not result["audit"]["violations"] else 1


if __name__ == "__main__":
    sys.exit(main())
