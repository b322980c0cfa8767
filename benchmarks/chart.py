"""The hot-séance chart: registrations/s and latency by client count, MonClub against the classic
transaction and the classic with its outbox event.

matplotlib is optional (the `bench` extra): without it the chart alone is skipped, with a word.
"""

from pathlib import Path

SERIES = (
    ("monclub", "MonClub (shard)", "#1f77b4"),
    ("classic", "classic transaction", "#d62728"),
    ("classic_outbox", "classic + outbox event", "#ff7f0e"),
)
WIDTH = 0.8  # of the bars of one client count, side by side


def draw(hot: list[dict], title: str, path: Path) -> str:
    """Write the PNG; what was done, for the report."""
    try:
        import matplotlib
    except ImportError:
        return "matplotlib is not installed (pip install -e '.[bench]'): chart skipped"
    matplotlib.use("Agg")
    from matplotlib import pyplot

    clients = [row["clients"] for row in hot]
    positions = range(len(clients))
    figure, (rate, latency) = pyplot.subplots(1, 2, figsize=(11, 4.2))
    series = [entry for entry in SERIES if entry[0] in hot[0]]  # older results have no classic_outbox
    width = WIDTH / len(series)
    for i, (kind, label, color) in enumerate(series):
        offset = (i - (len(series) - 1) / 2) * width
        rate.bar(
            [p + offset for p in positions], [row[kind]["per_second"] for row in hot], width, label=label, color=color
        )
        for quantile, style in (("p50_ms", "-o"), ("p99_ms", "--^")):
            latency.plot(
                list(positions),
                [row[kind][quantile] for row in hot],
                style,
                color=color,
                label=f"{label} {quantile[:3]}",
            )
    for axes in (rate, latency):
        axes.set_xticks(list(positions), [str(c) for c in clients])
        axes.set_xlabel("concurrent clients")
        axes.legend(fontsize=8)
    rate.set_ylabel("registrations committed per second")
    latency.set_ylabel("latency (ms, log scale)")
    latency.set_yscale("log")
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return f"chart written to {path}"
