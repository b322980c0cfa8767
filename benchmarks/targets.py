"""The performance issues' targets, checked against one run's result (pure functions): the
third step's fixed one (issue 28: the shard's CPU per registration at hot 64 clients; its others
are halves of the first figures it measures), the second step's ratios (issue 15), and the first
step's other targets, which must keep passing.

Each target is PASS, MISS, or "-" when its phase was not measured in this run. Recovery "no
growth" reads: the median at the largest owned level is at most 1.5 times the median at the
smallest, plus 5 ms (kill-to-reply medians are a few ms: a fixed slack keeps scheduling noise from
reading as growth).
"""


def ratio(monclub: dict | None, classic: dict | None) -> float | None:
    """MonClub's registrations per second over the classic's (None if either is missing or 0)."""
    if not monclub or not classic or not classic["per_second"]:
        return None
    return round(monclub["per_second"] / classic["per_second"], 2)


def by_clients(rows: list[dict] | None, clients: int) -> dict | None:
    return next((row for row in rows or [] if row["clients"] == clients), None)


def _target(name: str, goal: str, value, shown: str, passed: bool | None) -> dict:
    return {
        "name": name,
        "goal": goal,
        "value": value,
        "shown": shown if value is not None else "-",
        "pass": None if value is None else passed,
    }


def _ratio_target(result: dict, phase: str, clients: int, minimum: float) -> dict:
    row = by_clients(result.get(phase), clients)
    value = row["ratio"] if row else None
    label = "1 client" if clients == 1 else f"{clients} clients"
    return _target(
        f"{phase}, {label}: MonClub / classic",
        f">= {minimum:g}x",
        value,
        f"{value}x",
        value is not None and value >= minimum,
    )


def _shard_cpu_target(result: dict, clients: int, maximum: float) -> dict:
    row = by_clients(result.get("hot"), clients)
    found = (row or {}).get("monclub", {}).get("cpu")
    value = found["us"].get("shards", 0.0) if found else None
    return _target(
        f"hot, {clients} clients: shard CPU per registration",
        f"<= {maximum:g} us",
        value,
        f"{value} us",
        value is not None and value <= maximum,
    )


def _recovery_targets(levels: list[dict] | None) -> list[dict]:
    levels = levels or []
    worst_median = max((lv["median_ms"] for lv in levels), default=None)
    worst = max((lv["max_ms"] for lv in levels), default=None)
    owned = sorted((lv for lv in levels if not lv["loaded"]), key=lambda lv: lv["owned"])
    first, last = (owned[0], owned[-1]) if len(owned) > 1 else (None, None)
    growth = None if first is None else round(last["median_ms"] - first["median_ms"], 2)
    return [
        _target(
            "recovery median (worst level)",
            "< 50 ms",
            worst_median,
            f"{worst_median} ms",
            worst_median is not None and worst_median < 50,
        ),
        _target("recovery max (all levels)", "< 300 ms", worst, f"{worst} ms", worst is not None and worst < 300),
        _target(
            f"recovery growth, {first['owned']:,} to {last['owned']:,} owned" if first else "recovery growth",
            "<= 1.5x + 5 ms",
            growth,
            f"{first['median_ms']} -> {last['median_ms']} ms" if first else "-",
            first is not None and last["median_ms"] <= 1.5 * first["median_ms"] + 5,
        ),
    ]


def evaluate(result: dict) -> list[dict]:
    hot_1 = by_clients(result.get("hot"), 1)
    p50 = hot_1["monclub"]["p50_ms"] if hot_1 else None
    events = result.get("events") or {}
    p99 = (events.get("latency") or {}).get("p99_ms")
    catch_up = (events.get("catch_up") or {}).get("per_second")
    memory = next((lv["memory"] for lv in result.get("recovery") or [] if lv["memory"]), None)
    kib = memory["kib_per_seance"] if memory else None
    classic_p50 = hot_1["classic"]["p50_ms"] if hot_1 else None
    return [
        _shard_cpu_target(result, 64, 24),
        _ratio_target(result, "hot", 1, 1),
        _target(
            "hot, 1 client: MonClub p50 <= the classic's",
            f"<= {classic_p50} ms" if classic_p50 is not None else "<= classic",
            p50,
            f"{p50} ms",
            p50 is not None and classic_p50 is not None and p50 <= classic_p50,
        ),
        _ratio_target(result, "spread", 1, 1),
        _ratio_target(result, "spread", 16, 1.5),
        _ratio_target(result, "spread", 64, 3),
        _ratio_target(result, "hot", 16, 6),
        _ratio_target(result, "hot", 64, 20),
        _target("hot, 1 client: MonClub p50", "<= 1.5 ms", p50, f"{p50} ms", p50 is not None and p50 <= 1.5),
        *_recovery_targets(result.get("recovery")),
        _target("events: commit to listener effect p99", "< 50 ms", p99, f"{p99} ms", p99 is not None and p99 < 50),
        _target(
            "events: catch-up of a listener",
            ">= 10,000/s",
            catch_up,
            f"{catch_up:,.0f}/s" if catch_up else "",
            catch_up is not None and catch_up >= 10_000,
        ),
        _target("memory per loaded idle séance", "< 2 KiB", kib, f"{kib} KiB", kib is not None and kib < 2),
    ]


def verdict(target: dict) -> str:
    return {True: "PASS", False: "MISS", None: "-"}[target["pass"]]
