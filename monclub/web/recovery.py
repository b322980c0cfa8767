"""A place of the tree going down and serving again, as the tree page shows it.

The functional core of the tree page's deaths and returns, fed by TreeWatch (monclub.web.live)
with each read of the local tree and each kill of a button. A place is *serving* when it runs
and, for a shard, answers its ping (the `loaded` the tree read got from it). A kill of a button
marks its place down at once, with the time of the kill; any other death (a `kill -9` from a
terminal, a crash) is seen by the first read that finds another pid (or none) in the place of one
that served, and dated by the last read that saw it serve: known to within one read. (A process
that only misses a ping is not taken for dead.) The mark
holds until a read sees a new pid serve; then the place is back, and its return goes to the
history (the last HISTORY, newest first).
"""

from collections import deque
from dataclasses import dataclass

HISTORY = 20


@dataclass(frozen=True)
class Seen:
    pid: int | None
    serving: bool


@dataclass(frozen=True)
class Down:
    pid: int | None
    at: float
    exact: bool


NOT_THERE = Seen(None, False)


def nodes(state: dict) -> list[tuple[str, dict]]:
    """Each place of a tree read ('relay', 'reunions/shard-0', ...) with its entry."""
    found = []
    for program in state["programs"]:
        found.append((program["name"], program))
        found += [(f"{program['name']}/{child['name']}", child) for child in program.get("children", [])]
    return found


def _seen(place: str, node: dict) -> Seen:
    running = node["state"] == "running" and node["pid"] is not None
    return Seen(node["pid"], running and ("/" not in place or node.get("loaded") is not None))


class Recovery:
    def __init__(self, history: int = HISTORY):
        self.down: dict[str, Down] = {}
        self.history: deque[dict] = deque(maxlen=history)
        self.back: dict[str, dict] = {}
        self.last: dict[str, Seen] = {}
        self.served_at: dict[str, float] = {}

    def killed(self, place: str, pid: int, at: float) -> None:
        """A button killed `pid`, the process of `place`, at `at`, and it is gone."""
        self.down[place] = Down(pid, at, exact=True)

    def recovering(self, since: float) -> bool:
        """Whether a place a button killed after `since` is not back yet."""
        return any(down.exact and down.at > since for down in self.down.values())

    def observe(self, state: dict, at: float) -> None:
        """A read of the local tree, finished at `at`. A place missing from it (its supervisor
        did not answer in time) is unknown: it keeps what was last seen of it."""
        for place, node in nodes(state):
            seen = _seen(place, node)
            self._follow(place, self.last.get(place, NOT_THERE), seen, at)
            self.last[place] = seen
            if seen.serving:
                self.served_at[place] = at

    def _follow(self, place: str, before: Seen, seen: Seen, at: float) -> None:
        if place not in self.down and before.serving and seen.pid != before.pid:
            self.down[place] = Down(before.pid, self.served_at[place], exact=False)
        down = self.down.get(place)
        if down is None or not seen.serving:
            return
        if seen.pid == down.pid:
            if not down.exact:  # it had not died (a button's kill is of a pid seen gone)
                del self.down[place]
            return
        entry = {
            "place": place,
            "old_pid": down.pid,
            "new_pid": seen.pid,
            "down_at": down.at,
            "back_at": at,
            "down_ms": round((at - down.at) * 1000),
            "exact": down.exact,
        }
        self.history.appendleft(entry)
        self.back[place] = entry
        del self.down[place]

    def shown(self, state: dict) -> dict:
        """`state` as the page shows it (a copy): a place marked down is "down" (the pid shown is
        a new one starting, if any) with `down` (the pid that died, since when, whether the time
        is exact) until a read sees a new pid serve; a place that came back has `back_ms`; and
        the `history` of returns."""
        shown = {
            **state,
            "programs": [
                {**program, "children": [dict(child) for child in program.get("children", [])]}
                if "children" in program
                else dict(program)
                for program in state["programs"]
            ],
            "healthy": state["healthy"] and not self.down,
            "history": list(self.history),
        }
        for place, node in nodes(shown):
            down = self.down.get(place)
            if down is not None:
                starting = node["pid"] not in (None, down.pid)
                node.update(
                    state="starting" if starting else "down",
                    pid=node["pid"] if starting else None,
                    down={"pid": down.pid, "since": down.at, "exact": down.exact},
                )
            elif place in self.back:
                node["back_ms"] = self.back[place]["down_ms"]
        return shown
