"""The hot-séance chart of a perf run: rates, latencies, CPU per registration by process.

Registrations/s and latency by client count, MonClub against the classic transaction and the
classic with its outbox event, and, when the run measured it (issue 28), the CPU per registration
of each process kind, with the model ceiling it gives drawn on the rates.

  scripts/bench chart [--code COMMIT] [--output docs/bench-hot.png]
draws it again from benchmarks/results.jsonl: the last full perf run with a hot phase, or the last
one of that commit (how docs/bench-hot.png is redrawn when this file changes, without a new run).

matplotlib is optional (the `bench` extra): without it the chart alone is skipped, with a word.
"""

import argparse
import json
import sys
from pathlib import Path

from benchmarks.harness import RESULTS

SERIES = (
    ("monclub", "MonClub (shard)", "#1f77b4"),
    ("classic", "classic transaction", "#d62728"),
    ("classic_outbox", "classic + outbox event", "#ff7f0e"),
)
# The CPU panel's stacks: a label, the kinds of benchmarks/cpu.py it sums, a colour.
GROUPS = (
    ("shard processes (+ their supervisor)", ("shards", "reunions"), "#6baed6"),
    ("PostgreSQL client backends", ("pg_backends",), "#74c476"),
    ("PostgreSQL, its other processes", ("pg_server",), "#c7e9c0"),
    ("load generator", ("generator",), "#bdbdbd"),
)
WIDTH = 0.8  # of the bars of one client count, side by side


def title(result: dict) -> str:
    m = result["machine"]
    return (
        "One hot séance, MonClub against the classic transaction, without and with an outbox event"
        f"{' (QUICK run)' if result['quick'] else ''}\n"
        f"{result['date'][:10]}, {result['code']}, {m['cpus']} CPUs, {m['postgresql'].split(' (')[0]}, "
        f"fsync {m['postgresql_settings']['fsync']}, synchronous_commit "
        f"{m['postgresql_settings']['synchronous_commit']}, {result['shards']} shards"
    )


def _offsets(count: int) -> list[float]:
    width = WIDTH / count
    return [(i - (count - 1) / 2) * width for i in range(count)]


def _counted(found: dict, kinds: tuple[str, ...]) -> float:
    """The kinds' µs per registration that count in the run's total (the idle ones do not)."""
    return sum(found["us"].get(kind, 0.0) for kind in kinds if kind not in found.get("idle", ()))


def _cpu_panel(axes, hot: list[dict], series: list[tuple]) -> None:
    """Stacked µs per registration by process group, one bar per contender, its total above. The
    scale is linear and fits MonClub's bars: the classic's are often ten times taller, so they are
    cut at the top, their total written there."""
    width = WIDTH / len(series)
    top = 1.6 * max(row["monclub"]["cpu"]["total_us"] for row in hot)
    for offset, (kind, _, color) in zip(_offsets(len(series)), series, strict=True):
        bottoms = [0.0] * len(hot)
        for label, kinds, fill in GROUPS:
            heights = [_counted(row[kind]["cpu"], kinds) for row in hot]
            axes.bar(
                [p + offset for p in range(len(hot))],
                heights,
                width,
                bottom=bottoms,
                color=fill,
                edgecolor=color,
                label=label if kind == "monclub" else None,
            )
            bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
        for p, row in enumerate(hot):
            total = row[kind]["cpu"]["total_us"]
            axes.annotate(f"{total:.0f}", (p + offset, min(total, top * 0.97)), ha="center", fontsize=7)
    axes.set_ylim(0, top)
    axes.set_ylabel("CPU µs per registration (bar edge: contender)")


def draw(result: dict, path: Path) -> str:
    """Write the PNG of the run's hot phase; what was done, for the report."""
    try:
        import matplotlib
    except ImportError:
        return "matplotlib is not installed (pip install -e '.[bench]'): chart skipped"
    matplotlib.use("Agg")
    from matplotlib import pyplot

    hot = result["hot"]
    clients = [row["clients"] for row in hot]
    positions = range(len(clients))
    series = [entry for entry in SERIES if entry[0] in hot[0]]  # older results have no classic_outbox
    measured = all("cpu" in row[kind] for row in hot for kind, _, _ in series)  # issue 28 on
    figure, panels = pyplot.subplots(1, 3 if measured else 2, figsize=(16 if measured else 11, 4.4))
    rate, latency = panels[0], panels[1]
    for offset, (kind, label, color) in zip(_offsets(len(series)), series, strict=True):
        xs = [p + offset for p in positions]
        rate.bar(xs, [row[kind]["per_second"] for row in hot], WIDTH / len(series), label=label, color=color)
        if measured:
            ceilings = [row[kind]["cpu"]["ceiling_per_second"] for row in hot]
            rate.scatter(xs, ceilings, marker="_", s=300, color="black", zorder=3)
            for x, row in zip(xs, hot, strict=True):
                if share := row[kind]["cpu"]["of_ceiling"]:
                    rate.annotate(f"{share:.0%}", (x, row[kind]["per_second"]), ha="center", fontsize=7)
        for quantile, style in (("p50_ms", "-o"), ("p99_ms", "--^")):
            latency.plot(
                list(positions),
                [row[kind][quantile] for row in hot],
                style,
                color=color,
                label=f"{label} {quantile[:3]}",
            )
    if measured:
        _cpu_panel(panels[2], hot, series)
        rate.set_title("black dash: model ceiling, cores × 10⁶ / CPU µs per reg; % of it on each bar", fontsize=8)
    for axes in panels:
        axes.set_xticks(list(positions), [str(c) for c in clients])
        axes.set_xlabel("concurrent clients")
        axes.legend(fontsize=7)
    rate.set_ylabel("registrations committed per second")
    latency.set_ylabel("latency (ms, log scale)")
    latency.set_yscale("log")
    figure.suptitle(title(result), fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return f"chart written to {path}"


def recorded(lines: list[str], code: str | None) -> dict | None:
    """The last full perf run with a hot phase among results lines, of commit `code` if given (pure)."""
    runs = [json.loads(line) for line in lines if line.strip()]
    found = [
        run
        for run in runs
        if run.get("benchmark") == "perf" and run.get("hot") and not run.get("quick") and code in (None, run["code"])
    ]
    return found[-1] if found else None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench chart", description=__doc__.splitlines()[0])
    parser.add_argument("--code", help="the commit of the run to draw (default: the last full run)")
    parser.add_argument("--output", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "bench-hot.png")
    args = parser.parse_args(argv)
    result = recorded(RESULTS.read_text().splitlines(), args.code)
    if result is None:
        print(f"no full perf run with a hot phase{f' of {args.code}' if args.code else ''} in {RESULTS}")
        return 1
    print(draw(result, args.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
