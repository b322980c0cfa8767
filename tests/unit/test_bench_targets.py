"""The benchmark's pure parts: percentiles, ratios, targets, séance ids by shard (no timing here)."""

from benchmarks.harness import percentile_ms
from benchmarks.load import summarize
from benchmarks.memory import flatness
from benchmarks.population import owned_ids
from benchmarks.targets import evaluate, ratio, verdict
from monclub.cluster.partition import partition_of


def row(per_second: float, p50: float = 1.0) -> dict:
    return {"per_second": per_second, "p50_ms": p50, "p99_ms": p50 * 2}


def pair(clients: int, monclub: float, classic: float, p50: float = 1.0) -> dict:
    return {
        "clients": clients,
        "monclub": row(monclub, p50),
        "classic": row(classic),
        "ratio": ratio(row(monclub), row(classic)),
    }


def level(owned: int, median: float, worst: float, loaded: int = 0, memory: dict | None = None) -> dict:
    return {"owned": owned, "loaded": loaded, "median_ms": median, "max_ms": worst, "memory": memory}


def by_name(targets: list[dict]) -> dict[str, str]:
    return {t["name"]: verdict(t) for t in targets}


def test_percentile_is_nearest_rank_in_ms():
    samples = [i / 1000 for i in range(1, 101)]
    assert percentile_ms(samples, 50) == 51.0
    assert percentile_ms(samples, 99) == 100.0
    assert percentile_ms([], 50) is None


def test_ratio_is_monclub_over_classic_and_none_without_a_classic_figure():
    assert ratio(row(2000), row(500)) == 4.0
    assert ratio(row(2000), row(0)) is None
    assert ratio(row(2000), None) is None


def test_summarize_counts_from_the_common_start_to_the_last_reply():
    parts = [
        {"latencies": [0.001, 0.003], "errors": {"deja_inscrit": 1}, "ended": 11.0},
        {"latencies": [0.002], "errors": {"deja_inscrit": 2}, "ended": 12.0},
    ]
    summary = summarize(parts, began=10.0, clients=2, processes=1, ops=6)
    assert summary["committed"] == 3
    assert summary["per_second"] == 1.5
    assert summary["errors"] == {"deja_inscrit": 3}
    assert summary["p50_ms"] == 2.0


def test_targets_pass_miss_or_unmeasured():
    result = {
        "hot": [pair(1, 900, 1000, p50=1.2), pair(16, 6500, 1000), pair(64, 12000, 1000)],
        "spread": None,
        "recovery": [
            level(10, 10.0, 40.0),
            level(100_000, 20.0, 310.0),
            level(10_000, 12.0, 30.0, loaded=10_000, memory={"kib_per_seance": 0.5}),
        ],
        "events": {"latency": {"p99_ms": 3.0}, "catch_up": {"per_second": 9000.0}},
    }
    verdicts = by_name(evaluate(result))
    assert verdicts["hot, 64 clients: shard CPU per registration"] == "-", "a run without CPU figures"
    assert verdicts["hot, 64 clients: MonClub / classic"] == "MISS", "the second step asks 20x"
    assert verdicts["hot, 16 clients: MonClub / classic"] == "PASS"
    assert verdicts["hot, 1 client: MonClub / classic"] == "MISS"
    assert verdicts["hot, 1 client: MonClub p50 <= the classic's"] == "MISS"
    assert verdicts["hot, 1 client: MonClub p50"] == "PASS"
    assert verdicts["spread, 64 clients: MonClub / classic"] == "-"
    assert verdicts["recovery median (worst level)"] == "PASS"
    assert verdicts["recovery max (all levels)"] == "MISS"
    assert verdicts["recovery growth, 10 to 100,000 owned"] == "PASS"
    assert verdicts["events: commit to listener effect p99"] == "PASS"
    assert verdicts["events: catch-up of a listener"] == "MISS"
    assert verdicts["memory per loaded idle séance"] == "PASS"


def test_recovery_growth_beyond_one_and_a_half_times_plus_5_ms_is_a_miss():
    result = {"recovery": [level(10, 10.0, 20.0), level(100_000, 20.5, 30.0)]}
    assert by_name(evaluate(result))["recovery growth, 10 to 100,000 owned"] == "MISS"


def test_owned_ids_belong_to_the_shard_and_continue_from_start():
    ids = owned_ids("owned2", 50, shard=2, shards=4, partitions=16)
    assert len(ids) == 50 and len(set(ids)) == 50
    assert all(partition_of(i, 16) % 4 == 2 for i in ids)
    assert {partition_of(i, 16) for i in ids} == {2, 6, 10, 14}, "every partition of the process"
    start = int(ids[-1].rsplit("-", 1)[1]) + 1
    more = owned_ids("owned2", 10, shard=2, shards=4, start=start, partitions=16)
    assert not set(more) & set(ids)
    assert owned_ids("x", 3) == ["x-0", "x-1", "x-2"]


def test_memory_flatness_is_the_highest_rss_after_max_loaded_over_the_rss_when_reached():
    samples = [
        {"touched": 10, "loaded": 10, "rss_kib": 1000},
        {"touched": 20, "loaded": 20, "rss_kib": 2000},
        {"touched": 30, "loaded": 20, "rss_kib": 2100},
        {"touched": 40, "loaded": 20, "rss_kib": 2050},
    ]
    found = flatness(samples, max_loaded=20)
    assert found["reached"] == 20 and found["growth"] == 0.05 and found["rss_end_kib"] == 2050
    assert flatness(samples, max_loaded=50)["growth"] is None


def test_the_shards_cpu_per_registration_at_hot_64_clients_is_held_to_24_us():
    def measured(shards_us: float) -> dict:
        hot_64 = pair(64, 12000, 1000)
        hot_64["monclub"]["cpu"] = {"us": {"shards": shards_us, "generator": 40.0}}
        return {"hot": [hot_64]}

    assert by_name(evaluate(measured(24.0)))["hot, 64 clients: shard CPU per registration"] == "PASS"
    assert by_name(evaluate(measured(47.3)))["hot, 64 clients: shard CPU per registration"] == "MISS"
