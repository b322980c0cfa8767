"""The pure parts of the benchmark's CPU accounting (benchmarks/cpu.py): /proc stat lines, which
process counts under which kind, the CPU spent between two snapshots, per command, the model
ceiling; and the chart's choice of the run it redraws. Nothing here is timed."""

import json

from benchmarks.chart import recorded
from benchmarks.cpu import Place, Proc, Stat, assign, event_line, figures, lines, parse_stat, per_event, spent

# A real line's shape: pid (comm) state ppid ... utime stime cutime cstime ... starttime ...
LINE = (
    "4242 (postgres: a) b) S 4000 4242 4000 0 -1 4194560 1200 0 0 0 "
    "130 25 7 3 20 0 1 0 987654 221184000 2048 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0"
)


def stat(pid: int, ppid: int, started: int = 1) -> Stat:
    return Stat(pid=pid, comm="p", state="S", ppid=ppid, cpu_ticks=0, children_ticks=0, started=started)


def proc(kind: str, ns: int, reaped: int = 0, children: str | None = None, bucket: str | None = None) -> Proc:
    return Proc(Place(kind, children or kind, bucket), ns, reaped)


def test_a_stat_line_is_read_past_a_command_name_holding_spaces_and_parentheses():
    found = parse_stat(LINE)
    assert (found.pid, found.comm, found.state, found.ppid) == (4242, "postgres: a) b", "S", 4000)
    assert found.cpu_ticks == 155, "utime + stime"
    assert found.children_ticks == 10, "cutime + cstime"
    assert found.started == 987654


def test_descendants_take_their_roots_childrens_kind_unless_named_or_roots_themselves():
    stats = {pid: stat(pid, ppid) for pid, ppid in [(1, 0), (10, 1), (11, 10), (12, 10), (20, 1), (21, 20), (99, 0)]}
    roots = {1: ("supervisord", "supervisord"), 10: ("reunions", "shards")}
    places = assign(stats, roots, {12: "named", 21: None})
    assert places[1] == Place("supervisord", "supervisord", None)
    assert places[10] == Place("reunions", "shards", "supervisord"), "a root below a root: reaped by it"
    assert places[11] == Place("shards", "shards", "shards")
    assert places[12] == Place("named", "named", "shards")
    assert places[20] == Place("supervisord", "supervisord", "supervisord")
    assert 21 not in places and 99 not in places, "named None is not counted, nor a stranger"


def test_spent_counts_growth_newcomers_and_the_exited_through_their_parents_reaped_time():
    before = {
        (1, 5): proc("pg_server", 1_000, reaped=50_000, children="pg_backends"),
        (2, 6): proc("pg_backends", 7_000, bucket="pg_backends"),  # exits during the phase
        (3, 6): proc("pg_backends", 2_000, bucket="pg_backends"),
        (4, 6): proc("pg_server", 500, bucket="pg_backends"),
    }
    after = {
        (1, 5): proc("pg_server", 1_400, reaped=50_000 + 9_000, children="pg_backends"),  # reaped 2: 7,000 + 2,000
        (3, 6): proc("pg_backends", 5_000, bucket="pg_backends"),
        (4, 6): proc("pg_server", 800, bucket="pg_backends"),
        (8, 9): proc("pg_backends", 600, bucket="pg_backends"),  # born during the phase
    }
    assert spent(before, after) == {"pg_server": 400 + 300, "pg_backends": 2_000 + 3_000 + 600}


def test_a_pid_reused_by_another_process_is_another_process():
    before = {(7, 100): proc("shards", 9_000, bucket="shards")}
    after = {(7, 200): proc("shards", 1_000, bucket="shards")}
    assert spent(before, after) == {"shards": 1_000 - 9_000}, "its predecessor, gone unreaped, is lost"


def test_figures_divide_by_the_commands_and_model_the_ceiling_on_the_cores():
    ns = {"shards": 47_000_000, "pg_backends": 30_000_000, "generator": 40_000_000}
    found = figures(ns, 1_000, per_second=11_700.0, cores=2)
    assert found["us"] == {"generator": 40.0, "pg_backends": 30.0, "shards": 47.0}
    assert found["total_us"] == 117.0
    assert found["ceiling_per_second"] == round(2 * 1e6 / 117.0) == 17_094
    assert found["of_ceiling"] == round(11_700 / (2e6 / 117), 3) == 0.684
    assert found["cpu_ms"]["shards"] == 47.0
    classic = figures(ns, 1_000, per_second=1_000.0, cores=2, idle=("shards",))
    assert classic["us"]["shards"] == 47.0 and classic["total_us"] == 70.0, "idle kinds shown, not summed"
    empty = figures(ns, 0, per_second=0.0, cores=2)
    assert empty["us"] == {} and empty["ceiling_per_second"] is None and empty["of_ceiling"] is None


def test_an_events_cost_sums_the_relay_the_bus_and_the_listeners():
    ns = {"relay": 20_000, "bus": 5_000, "paiements": 40_000, "notifications": 10_000, "shards": 100_000}
    found = per_event(ns, 1, per_second=200.0)
    assert found["event_path_us"] == 75.0
    assert event_line(found).startswith("relay + bus + listeners 75.0 (shards 100.0, paiements 40.0")


def test_the_cpu_rows_show_each_contender_its_processes_and_its_share_of_the_ceiling():
    measured = figures({"shards": 47_000, "pg_backends": 30_000, "pg_server": 3_000, "generator": 40_000}, 1, 11_000, 2)
    rows = [{"clients": 64, "monclub": {"per_second": 11_000.0, "cpu": measured}, "classic": {"per_second": 990.0}}]
    table = lines(rows)
    assert len(table) == 2, "a contender without CPU figures has no row"
    assert table[1].split() == [
        "64",
        "MonClub",
        "11,000",
        "47.0",
        "0.0",
        "30.0",
        "33.0",
        "40.0",
        "120.0",
        "16,667",
        "66%",
    ]
    rows[0]["classic"]["cpu"] = figures({"shards": 5_000, "pg_backends": 900_000}, 1, 990, 2, idle=("shards",))
    assert lines(rows)[2].split()[3:5] == ["(5.0)", "0.0"], "idle shards in parentheses, not in the total"
    assert lines(rows)[2].split()[-3] == "900.0"


def test_the_chart_redraws_the_last_full_perf_run_with_a_hot_phase_or_that_of_a_commit():
    runs = [
        {"benchmark": "perf", "code": "a1", "quick": False, "hot": [{}]},
        {"benchmark": "perf", "code": "b2", "quick": False, "hot": [{}]},
        {"benchmark": "perf", "code": "c3", "quick": True, "hot": [{}]},
        {"benchmark": "perf", "code": "d4", "quick": False, "hot": None},
        {"benchmark": "memory", "code": "e5"},
    ]
    lines_ = [json.dumps(run) for run in runs]
    assert recorded(lines_, None)["code"] == "b2"
    assert recorded(lines_, "a1")["code"] == "a1"
    assert recorded(lines_, "c3") is None, "a quick run is never the chart"
