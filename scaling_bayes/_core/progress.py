"""A dependency-free progress bar for sampling, written to stderr."""

from __future__ import annotations

import sys
import time


class ProgressBar:
    """``bar(done, total)`` redraws one line on a terminal, or prints quarter marks otherwise."""

    def __init__(self, total: int, chains: int, stream=None, width: int = 30):
        self.total, self.chains, self.width = total, chains, width
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.t0 = time.perf_counter()
        self._last_mark = -1
        self._drawn = False

    def __call__(self, done: int, total: int) -> None:
        frac = done / max(total, 1)
        elapsed = time.perf_counter() - self.t0
        text = (f"sampling {self.chains} chains |{'#' * int(frac * self.width):<{self.width}}| "
                f"{done}/{total} iterations, {elapsed:.1f} s")
        if self.tty:
            self.stream.write("\r" + text)
            self._drawn = True
        else:
            mark = int(frac * 4)
            if mark > self._last_mark:
                self._last_mark = mark
                self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
