"""A transient progress bar on stderr, for people at a terminal waiting on a long command.

It counts bytes (a one-layer image or one big file moves too, not 0/1 then done), appears only
once the command has run for over a second, only on a terminal, and is erased when done, so
pipes, CI logs and quick scans see nothing of it (and a warm scan never even imports rich).
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

DELAY = 1.0


class ByteProgress:
    """``update(done_bytes, total_bytes)`` as work completes; use as a context manager."""

    def __init__(
        self, what: str = "scanning", console: Console | None = None, delay: float | None = None
    ) -> None:
        self.what = what
        self.console = console
        self.delay = DELAY if delay is None else delay  # read when made: a test may set DELAY
        self.started = time.monotonic()
        self.bar: Any = None
        self.task: Any = None
        self._terminal: bool | None = None  # asked once: it is a system call, and this runs per file

    def on_terminal(self) -> bool:
        return self.console.is_terminal if self.console is not None else sys.stderr.isatty()

    def update(self, done: int, total: int) -> None:
        if time.monotonic() - self.started < self.delay:
            return
        if self._terminal is None:
            self._terminal = self.on_terminal()
        if not self._terminal:
            return
        if self.bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                TextColumn(self.what),
                BarColumn(),
                DownloadColumn(),
                TimeElapsedColumn(),
                console=self.console or Console(stderr=True),
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task(self.what, total=total)
        self.bar.update(self.task, completed=done, total=total)

    def __enter__(self) -> ByteProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()
