"""The progress bar: only on a terminal, only after the delay, erased at the end."""

from __future__ import annotations

import io

from rich.console import Console

from hubguard.report.progress import LayerProgress


def console(terminal: bool) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=terminal, width=80), out


def test_shown_on_a_terminal_after_the_delay():
    shown, out = console(terminal=True)
    with LayerProgress(shown, delay=0) as progress:
        progress.update(1, 3)
        progress.update(3, 3)
        assert progress.bar is not None
    assert "scanning layers" in out.getvalue()


def test_quick_scans_and_pipes_show_nothing():
    for terminal, delay in ((True, 60.0), (False, 0.0)):
        quiet, out = console(terminal)
        with LayerProgress(quiet, delay=delay) as progress:
            progress.update(1, 2)
            progress.update(2, 2)
        assert progress.bar is None
        assert out.getvalue() == ""
