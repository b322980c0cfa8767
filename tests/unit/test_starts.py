"""The restart delay a supervisord program waits, from its own start record (pure, time passed in)."""

from monclub.supervision.program import RESTARTS
from monclub.supervision.starts import Starts, next_start


def starts_after(runs: list[float]) -> list[float]:
    """The delays of successive starts, each run lasting the given seconds before it dies."""
    record, now, delays = Starts(), 1_000.0, []
    for ran in runs:
        delay, record = next_start(record, RESTARTS, now)
        delays.append(delay)
        now = record.last + ran
    return delays


def test_the_first_start_and_a_restart_after_a_stable_run_wait_nothing():
    assert starts_after([60.0, 60.0, 60.0]) == [0.0, 0.0, 0.0]


def test_a_program_that_keeps_dying_young_waits_longer_each_time_capped_at_5s():
    delays = starts_after([0.3] * 10)
    assert delays[:4] == [0.0, 0.0, 0.1, 0.2]
    assert delays == sorted(delays) and max(delays) == 5.0 == delays[-1]


def test_the_delay_is_reset_once_a_run_lasts():
    delays = starts_after([0.3] * 8 + [6.0, 0.3])
    assert delays[8] > 1.0 and delays[9] == 0.0


def test_the_record_counts_every_start():
    record = Starts()
    for now in (1.0, 2.0, 3.0):
        _, record = next_start(record, RESTARTS, now)
    assert record.count == 3 and record.quick_deaths == 2
