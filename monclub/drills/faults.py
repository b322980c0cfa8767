"""The chaos drill's faults: SIGKILL of a random place of the tree on a seeded schedule, and for
each kill the time until its place serves again (`recovery.serving`), watched by one thread per
kill until the place serves, is killed again, or the drill stops watching."""

import os
import random
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from monclub.config import Config
from monclub.drills.recovery import running_places, serving

WATCH_INTERVAL = 0.02


@dataclass
class Kill:
    place: str
    pid: int
    at: float
    back: float | None = None
    killed_again: bool = False

    @property
    def open(self) -> bool:
        return self.back is None and not self.killed_again


@dataclass
class Faults:
    config: Config
    every: float
    seed: int
    targets: tuple[str, ...] = ()
    kills: list[Kill] = field(default_factory=list)
    watchers: list[threading.Thread] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopped_watching: threading.Event = field(default_factory=threading.Event)

    @property
    def per_target(self) -> Counter:
        with self.lock:
            return Counter(kill.place for kill in self.kills)

    def of(self, place: str) -> list[Kill]:
        with self.lock:
            return [kill for kill in self.kills if kill.place == place]

    def candidates(self) -> dict[str, int]:
        places = {p: pid for p, pid in running_places(self.config).items() if p != "supervisord"}
        if self.targets:
            places = {p: pid for p, pid in places.items() if any(p == t or p.startswith(t + "/") for t in self.targets)}
        return places

    def loop(self, stop: threading.Event) -> None:
        """Kill a random place every `every` seconds until `stop` is set."""
        rng = random.Random(self.seed)
        while not stop.wait(self.every):
            places = self.candidates()
            if places:
                place = rng.choice(sorted(places))
                self.kill(place, places[place])

    def kill(self, place: str, pid: int) -> None:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        kill = Kill(place, pid, time.monotonic())
        with self.lock:
            for earlier in self.kills:
                if earlier.place == place and earlier.open:
                    earlier.killed_again = True
            self.kills.append(kill)
        thread = threading.Thread(target=self._watch, args=(kill,), daemon=True)
        thread.start()
        self.watchers.append(thread)

    def _watch(self, kill: Kill) -> None:
        while kill.open and not self.stopped_watching.is_set():
            if serving(self.config, kill.place, {kill.pid}):
                with self.lock:
                    if kill.open:
                        kill.back = time.monotonic() - kill.at
                return
            self.stopped_watching.wait(WATCH_INTERVAL)

    def stop_watching(self, timeout: float = 5.0) -> list[str]:
        """End the watches; the places whose last kill never saw them serve again. A watch may end
        between two of its looks, so each kill still open gets a last look first (a place killed
        at the end of the load serves again during quiescence)."""
        self.stopped_watching.set()
        for thread in self.watchers:
            thread.join(timeout)
        with self.lock:
            still_open = [kill for kill in self.kills if kill.open]
        for kill in still_open:
            if serving(self.config, kill.place, {kill.pid}):
                with self.lock:
                    kill.back = time.monotonic() - kill.at
        with self.lock:
            return sorted({kill.place for kill in self.kills if kill.open})
