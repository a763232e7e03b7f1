"""A transient progress bar on stderr, for people at a terminal waiting on a long scan.

It appears only once a scan has run for over a second, only on a terminal, and is erased
when done, so pipes, CI logs and quick scans see nothing of it (and a warm scan never even
imports rich).
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

DELAY = 1.0


class LayerProgress:
    """``update(done, total)`` per scanned layer; use as a context manager."""

    def __init__(self, console: Console | None = None, delay: float = DELAY) -> None:
        self.console = console
        self.delay = delay
        self.started = time.monotonic()
        self.bar: Any = None
        self.task: Any = None

    def _on_terminal(self) -> bool:
        return self.console.is_terminal if self.console is not None else sys.stderr.isatty()

    def update(self, done: int, total: int) -> None:
        if time.monotonic() - self.started < self.delay or not self._on_terminal():
            return
        if self.bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                TextColumn("scanning layers"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console or Console(stderr=True),
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task("layers", total=total)
        self.bar.update(self.task, completed=done, total=total)

    def __enter__(self) -> LayerProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()
