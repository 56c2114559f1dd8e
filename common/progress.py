"""A tiny terminal progress bar for management commands and benchmarks, with no dependencies.

On a terminal it redraws one line in place::

    Customers  [##################------------]  1200/2000   60%  3.1s

On anything else (a pipe, a CI log, an ``io.StringIO``) carriage returns would make a mess,
so it prints a plain line only when the work passes 25, 50, 75 and 100 percent::

    Customers  500/2000  25%  1.2s

Wrap an iterable with `progress`, or drive a `Progress` by hand when the unit of work is not
one item of a loop::

    for row in progress(rows, label="Rows"):
        ...

    with Progress(total=len(batches) * size, label="Rows") as bar:
        for batch in batches:
            handle(batch)
            bar.advance(len(batch))
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from types import TracebackType
from typing import Protocol, TypeVar

T = TypeVar("T")


class Stream(Protocol):
    """What the bar draws on: any text stream (`sys.stderr`, a file, `io.StringIO`...).

    It is treated as a terminal when it also has an `isatty()` that returns True.
    """

    def write(self, text: str, /) -> object: ...

    def flush(self) -> object: ...


DEFAULT_MILESTONES: tuple[int, ...] = (25, 50, 75, 100)


def format_duration(seconds: float) -> str:
    """`3.1s` under a minute, `2m05s` under an hour, `1h02m` beyond."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class Progress:
    """Counts finished units of work out of `total` and shows it on `stream`.

    `total=None` means the amount of work is unknown: the terminal line shows the count and
    the elapsed time without a bar, and a non-terminal stream gets one line when it closes.
    The terminal line is redrawn at most every `min_interval` seconds (and always at the
    end), so wrapping a fast loop costs next to nothing. `clock` is injectable for tests.
    """

    def __init__(
        self,
        total: int | None,
        *,
        label: str = "",
        stream: Stream | None = None,
        width: int = 30,
        milestones: Sequence[int] = DEFAULT_MILESTONES,
        min_interval: float = 0.1,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if total is not None and total < 0:
            raise ValueError("total cannot be negative")
        self.total = total
        self.label = label
        self.stream: Stream = stream if stream is not None else sys.stderr
        self.width = width
        self.milestones = sorted(milestones)
        self.min_interval = min_interval
        self.tty = _is_tty(self.stream) if tty is None else tty
        self._clock = clock
        self.count = 0
        self._started = clock()
        self._last_draw: float | None = None
        self._last_width = 0  # length of the line drawn last, to erase its tail
        self._drawn_count = -1  # the count the terminal line shows
        self._next_milestone = 0  # index into self.milestones
        self._closed = False

    # --- driving it ---------------------------------------------------------------------------

    def advance(self, step: int = 1) -> None:
        """Record `step` more units of work done and update the display if it is due."""
        self.count += step
        if self.tty:
            now = self._clock()
            finished = self.total is not None and self.count >= self.total
            if finished or self._last_draw is None or now - self._last_draw >= self.min_interval:
                self._draw(now)
        else:
            self._print_milestones()

    def close(self) -> None:
        """Finish the display: the final state on a terminal, then a newline. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self.tty:
            if self._drawn_count != self.count or self._last_draw is None:
                self._draw(self._clock())
            self._write("\n")
        elif self.total is None or self.total == 0:
            # No percentages to cross: say once how much was done and how long it took.
            self._write(self._plain_line() + "\n")
        else:
            self._print_milestones()

    @property
    def elapsed(self) -> float:
        """Seconds since the bar was created."""
        return self._clock() - self._started

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- rendering ----------------------------------------------------------------------------

    def render(self) -> str:
        """The terminal line for the current state (without the carriage return)."""
        elapsed = format_duration(self.elapsed)
        prefix = f"{self.label}  " if self.label else ""
        if self.total is None:
            return f"{prefix}{self.count}  {elapsed}"
        fraction = self._fraction()
        filled = int(self.width * fraction)
        bar = "#" * filled + "-" * (self.width - filled)
        digits = len(str(self.total))
        return (
            f"{prefix}[{bar}]  {self.count:>{digits}}/{self.total}  "
            f"{int(fraction * 100):>3}%  {elapsed}"
        )

    def _plain_line(self) -> str:
        prefix = f"{self.label}  " if self.label else ""
        elapsed = format_duration(self.elapsed)
        if self.total is None:
            return f"{prefix}{self.count} done  {elapsed}"
        return f"{prefix}{self.count}/{self.total}  {int(self._fraction() * 100)}%  {elapsed}"

    def _fraction(self) -> float:
        if not self.total:
            return 1.0
        return min(self.count / self.total, 1.0)

    def _draw(self, now: float) -> None:
        self._last_draw = now
        line = self.render()
        # Pad with spaces so that no tail of a longer previous line stays on screen.
        self._write("\r" + line.ljust(self._last_width))
        self._last_width = len(line)
        self._drawn_count = self.count

    def _print_milestones(self) -> None:
        """Print one line if the work has crossed one or more milestones since the last one."""
        if not self.total:
            return
        percent = self._fraction() * 100
        crossed = False
        while (
            self._next_milestone < len(self.milestones)
            and percent >= self.milestones[self._next_milestone]
        ):
            self._next_milestone += 1
            crossed = True
        if crossed:
            self._write(self._plain_line() + "\n")

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()


def progress(
    iterable: Iterable[T],
    *,
    total: int | None = None,
    label: str = "",
    stream: Stream | None = None,
    width: int = 30,
    min_interval: float = 0.1,
    tty: bool | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[T]:
    """Yield the items of `iterable`, showing a `Progress` that advances after each one.

    `total` defaults to `len(iterable)` when it has one. The bar is closed when the loop ends,
    is broken out of, or raises. The other options are those of `Progress`.
    """
    if total is None and isinstance(iterable, Sized):
        total = len(iterable)
    bar = Progress(
        total,
        label=label,
        stream=stream,
        width=width,
        min_interval=min_interval,
        tty=tty,
        clock=clock,
    )
    try:
        for item in iterable:
            yield item
            bar.advance()
    finally:
        bar.close()


def _is_tty(stream: Stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False
