"""The pure parts of the benchmark's ceiling and breakdown phases (fractions, sums, rows) and of the
history benchmark (its busy séance, its targets)."""

from benchmarks.breakdown import APART, PIECES, lines, shard_write_us, table
from benchmarks.ceiling import fraction, shares
from benchmarks.ceiling import lines as ceiling_lines
from benchmarks.history import busy_seance
from benchmarks.history import targets as history_targets
from monclub.reunions import seance


def rate(clients: int, per_second: float, p50: float = 1.0) -> dict:
    return {"clients": clients, "per_second": per_second, "p50_ms": p50}


def phase(*rows: tuple[int, float]) -> list[dict]:
    return [{"clients": clients, "monclub": rate(clients, monclub)} for clients, monclub in rows]


def found(multirow: float = 50_000.0) -> dict:
    return {
        "multirow": {
            "shape": "inscription + outbox event",
            "rows_per_commit": 1000,
            "commits": 250,
            "per_second": multirow,
            "rows_per_second": 2 * multirow,
            "commit_p50_ms": 20.0,
            "ran_out": False,
        },
        "commits": [rate(1, 4000.0, 0.25), rate(64, 8000.0, 8.0)],
        "generator": [rate(1, 8000.0), rate(16, 20_000.0), rate(64, 24_000.0)],
    }


def test_fraction_is_none_without_both_figures():
    assert fraction(1000.0, 50_000.0) == 0.02
    assert fraction(1000.0, None) is None
    assert fraction(0.0, 50_000.0) is None


def test_shares_set_monclub_against_each_ceiling_at_its_client_count():
    result = {"hot": phase((1, 1000.0), (16, 6000.0), (64, 12_000.0)), "spread": None, "ceiling": found()}
    hot = shares(result)["hot"]
    assert [row["of_multirow"] for row in hot] == [0.02, 0.12, 0.24]
    assert [row["of_commits"] for row in hot] == [0.25, None, 1.5]
    assert [row["generator_headroom"] for row in hot] == [8.0, 3.33, 2.0]
    assert shares(result)["spread"] == []


def test_the_ceiling_rows_name_each_figure_and_monclubs_shares():
    measured = found()
    measured["shares"] = shares({"hot": phase((64, 12_000.0)), "spread": None, "ceiling": measured})
    text = "\n".join(ceiling_lines(measured))
    assert "50,000 reg/s = 100,000 rows/s" in text
    assert "C=64 8,000/s (p50 8.0 ms)" in text
    assert "C=16 20,000/s" in text
    assert "hot           64        24.0%             150.0%               2.0" in text


def breakdown(**changed: float) -> dict:
    p50 = {key: 10.0 for key, _, _ in PIECES} | {key: 1.0 for key, _ in APART} | changed
    return {"samples": 5, **table(p50, 100.0)}


def test_the_breakdown_sums_each_piece_as_often_as_a_registration_pays_it():
    result = breakdown(reply_encode=2.5, round_trip=20.0)
    by_piece = {piece["piece"]: piece["us"] for piece in result["pieces"]}
    assert by_piece["reply_encode"] == 5.0
    assert result["sum_us"] == 10.0 * (len(PIECES) - 1) + 5.0
    assert result["unexplained_us"] == 100.0 - result["sum_us"] > 0
    assert {piece["piece"]: piece["p50_us"] for piece in result["apart"]}["round_trip"] == 20.0


def test_the_breakdown_rows_show_each_piece_its_share_and_what_is_left():
    result = breakdown(shard_write=None)
    rows = lines(result, hot_p50_ms=0.95)
    assert rows[1].split() == ["client:", "encode", "the", "request", "1", "10.0", "10.0%"]
    left = 100.0 - 10.0 * (len(PIECES) + 1)
    assert any(row.startswith("left: Python around the pieces") and row.endswith(f" {left:.1f}") for row in rows)
    assert rows[-2].split()[-1] == "-"
    assert rows[-1].split()[-1] == "950.0"


def test_the_shards_mean_write_is_taken_from_its_counters_between_two_pings():
    def ping(count: int, seconds: float) -> dict:
        return {"result": {"stats": {"commit": {"counts": [count, 0], "sum": seconds}}}}

    assert shard_write_us(ping(10, 0.004), ping(14, 0.006)) == 500.0
    assert shard_write_us(ping(10, 0.004), ping(10, 0.004)) is None
    assert shard_write_us({}, ping(10, 0.004)) is None


def test_the_history_benchmarks_seance_is_busy_as_its_core_decides_and_its_targets_read_the_figures():
    events = busy_seance(3000)
    kinds = {type(event).__name__ for event in events}
    assert len(events) == 3000 and {"MembreInscrit", "MembreMisEnAttente", "MembrePromu"} <= kinds
    assert seance.etat(seance.appliquer_tous(None, events))["places_restantes"] >= 0
    result = {"events": 10_000, "first_page": {"p50_ms": 4.4}, "replay_at": {"p50_ms": 250.0}, "rss_growth": 0.02}
    assert [target["pass"] for target in history_targets(result)] == [True, False, True]
