"""Restart policy, pure: OTP restart intensity plus a growing delay. Time is passed in."""

from collections import deque
from dataclasses import dataclass, field


@dataclass
class RestartPolicy:
    """More than `intensity` restarts within `period` seconds, across all children of one
    supervisor (as in OTP), and the supervisor gives up. A child that dies again before it has
    run `stable_after` seconds waits longer each time (0, then base, doubling up to max_delay)."""

    intensity: int = 5
    period: float = 10.0
    base_delay: float = 0.1
    max_delay: float = 5.0
    stable_after: float = 5.0
    _restarts: deque = field(default_factory=deque)

    def allow_restart(self, now: float) -> bool:
        while self._restarts and now - self._restarts[0] > self.period:
            self._restarts.popleft()
        self._restarts.append(now)
        return len(self._restarts) <= self.intensity

    def delay(self, ran_for: float, quick_deaths: int) -> tuple[float, int]:
        """The delay before the next start, and the new count of quick deaths in a row."""
        if ran_for >= self.stable_after:
            return 0.0, 0
        quick_deaths += 1
        if quick_deaths == 1:
            return 0.0, 1
        return min(self.max_delay, self.base_delay * 2 ** (quick_deaths - 2)), quick_deaths
