"""Progress of long work, on stderr: a tqdm bar on a terminal, plain periodic lines otherwise.

A bar redrawn with carriage returns turns a CI log or a ``2> run.log`` file into one unreadable
line per redraw, so away from a terminal the same progress comes as a line every ``EVERY_SECONDS``
(and one at the end): ``eval nano (budget-forcing): 120/360 unit (33%), 41 s``.
"""

from __future__ import annotations

import sys
import time

EVERY_SECONDS = 30.0


def on_terminal() -> bool:
    """stderr is a terminal: draw bars there."""
    return sys.stderr.isatty()


def progress(total: int, desc: str, unit: str = "it", initial: int = 0, enabled: bool = True):
    """A progress counter with ``update(n)`` and ``close()``: tqdm on a terminal, else :class:`Lines`."""
    if not enabled:
        return Lines(total, desc, unit, initial, every=None)
    if on_terminal():
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, unit=unit, initial=initial)
    return Lines(total, desc, unit, initial)


class Lines:
    """Progress as plain lines on stderr, at most one per ``every`` seconds; ``every=None``: silent."""

    def __init__(self, total: int, desc: str, unit: str = "it", initial: int = 0,
                 every: float | None = EVERY_SECONDS, clock=time.monotonic, stream=None) -> None:
        self.total, self.desc, self.unit, self.n, self.every = total, desc, unit, initial, every
        self.clock, self.stream = clock, stream
        self.start = self.last = clock()
        self.shown = initial

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.every is not None and self.clock() - self.last >= self.every:
            self._line()

    def close(self) -> None:
        if self.every is not None and self.n != self.shown:
            self._line()

    def _line(self) -> None:
        self.last, self.shown = self.clock(), self.n
        share = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        print(f"{self.desc}: {self.n}/{self.total} {self.unit}{share}, {self.last - self.start:.0f} s",
              file=self.stream or sys.stderr, flush=True)
