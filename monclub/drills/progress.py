"""What `monclub drill chaos` shows on stderr while it runs: the phase it is in with its deadline,
a bar during the load, then what it is still waiting for. Redrawn in place on a terminal; on a
pipe (logs, CI), one line per tenth of the load and at most one waiting line every WAIT_EVERY."""

import sys
import time
from typing import TextIO

WAIT_EVERY = 5.0


class TextProgress:
    def __init__(self, duration: float, out: TextIO = sys.stderr):
        self.duration = duration
        self.out = out
        self.terminal = out.isatty()
        self.inline: str | None = None
        self.tenths_shown: set[int] = set()
        self.last_wait = -WAIT_EVERY
        self.number = 0

    def _write(self, line: str, kind: str | None = None) -> None:
        """A line; on a terminal, a line of `kind` redraws the previous one of the same kind."""
        if self.terminal and kind is not None and kind == self.inline:
            self.out.write(f"\r\033[K{line}")
        else:
            self.out.write("\n" if self.inline else "")
            self.out.write(line if self.terminal and kind else f"{line}\n")
        self.inline = kind if self.terminal else None
        self.out.flush()

    def phase(self, name: str, deadline: float, what: str) -> None:
        self.number += 1
        self._write(f"phase {self.number}/3, {name}: {what} (deadline {deadline:.0f}s)")
        self.last_wait = -WAIT_EVERY

    def load(self, elapsed: float, acknowledged: int, kills: int) -> None:
        done = int(30 * min(elapsed / self.duration, 1.0))
        if not self.terminal and done // 3 in self.tenths_shown:
            return
        self.tenths_shown.add(done // 3)
        bar = f"[{'#' * done}{'.' * (30 - done)}]"
        self._write(f"{bar} {elapsed:5.1f}/{self.duration:.0f}s  acknowledged {acknowledged}  kills {kills}", "bar")

    def waiting(self, elapsed: float, deadline: float, what: str) -> None:
        now = time.monotonic()
        if not self.terminal and now - self.last_wait < WAIT_EVERY:
            return
        self.last_wait = now
        self._write(f"  {elapsed:5.1f}/{deadline:.0f}s waiting for {what}", "wait")

    def done(self) -> None:
        """End the line redrawn in place, before the report."""
        if self.inline:
            self.out.write("\n")
            self.out.flush()
        self.inline = None
