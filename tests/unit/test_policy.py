from monclub.supervision.policy import RestartPolicy


def test_intensity_counts_restarts_within_the_period_only():
    policy = RestartPolicy(intensity=3, period=10.0)
    assert all(policy.allow_restart(t) for t in (0.0, 1.0, 2.0))
    assert not policy.allow_restart(3.0)
    fresh = RestartPolicy(intensity=3, period=10.0)
    assert all(fresh.allow_restart(t) for t in (0.0, 1.0, 2.0, 10.5, 11.5, 12.5))


def test_first_quick_death_restarts_at_once_then_the_delay_doubles_up_to_a_cap():
    policy = RestartPolicy(base_delay=0.1, max_delay=0.5, stable_after=5.0)
    delays, deaths = [], 0
    for _ in range(6):
        delay, deaths = policy.delay(ran_for=0.2, quick_deaths=deaths)
        delays.append(delay)
    assert delays == [0.0, 0.1, 0.2, 0.4, 0.5, 0.5]


def test_a_child_that_ran_long_enough_starts_over():
    policy = RestartPolicy(stable_after=5.0)
    assert policy.delay(ran_for=6.0, quick_deaths=4) == (0.0, 0)
