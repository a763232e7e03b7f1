"""Where a rendered report goes: the terminal, or ``--output FILE`` with the one-line summary
and where the report went on the terminal, so a person still sees the outcome. Every command
(``scan``, ``context``, ``lint``, ``push``) shows its report through ``emit``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from hubguard.errors import HubguardError
from hubguard.model import ScanReport
from hubguard.report import render
from hubguard.report.common import FILE_WIDTH, summary_text


def emit(
    report: ScanReport,
    fmt: str,
    output: Path | None,
    *,
    rules: dict | None = None,
    color: bool | None = None,
    sink: TextIO | None = None,
) -> None:
    """Render ``report`` to ``sink`` (stdout by default), or write it to ``output`` at a fixed
    width (a file is the same whatever terminal wrote it) and tell ``sink`` the summary."""
    sink = sink or sys.stdout
    if output is None:
        sink.write(render(report, fmt, rules=rules, color=color))
        sink.flush()
        return
    text = render(report, fmt, rules=rules, color=bool(color), width=FILE_WIDTH)
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise HubguardError(f"cannot write {output}: {exc.strerror}") from None
    print(summary_text(report), file=sink)
    print(f"report written to {output}", file=sink, flush=True)
