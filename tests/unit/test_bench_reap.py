"""benchmarks/reap.py on real processes, with small counts: each kill and each wake-up timed (its
call returns only once the child is reaped, or the parent woken), and the test process's signal
handling left as it was (the figures themselves are the benchmark's, not a test's)."""

import argparse
import signal

from benchmarks.reap import run


def test_the_reap_benchmark_reaps_every_child_and_leaves_the_signals_as_they_were():
    before = signal.getsignal(signal.SIGCHLD)
    result = run(argparse.Namespace(mib="0,1", kills=2))
    assert set(result["kill_to_reap_ms"]) == {"0", "1"}
    for summary in [result["wake_up_ms"], *result["kill_to_reap_ms"].values()]:
        assert 0 < summary["min"] <= summary["median"] <= summary["max"]
    assert signal.getsignal(signal.SIGCHLD) == before == signal.SIG_DFL
    assert signal.set_wakeup_fd(-1) == -1, "no wakeup fd left behind"
