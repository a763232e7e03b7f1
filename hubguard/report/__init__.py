"""Turn a ScanReport into text: ``table`` for people, ``json``/``sarif`` for tools, ``github``
for Actions annotations. The CLI writes the returned text to stdout or ``--output``.

No format can leak a secret value: findings carry only its SHA-1 and a redacted preview.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from hubguard.errors import InputError
from hubguard.model import ScanReport

FORMATS = ("table", "json", "sarif", "github")


def render(
    report: ScanReport,
    fmt: str,
    *,
    rules: Mapping[str, Any] | None = None,
    color: bool | None = None,
    width: int | None = None,
) -> str:
    """Render ``report`` as ``fmt``; ``rules`` (id → rule) enriches SARIF rule metadata and the
    table's remediation text; ``color`` (None = decide from FORCE_COLOR, NO_COLOR and the
    terminal) and ``width`` (None = the terminal's, else COLUMNS) apply to ``table`` only."""
    # Each format is imported when used: rich alone costs a warm scan a quarter of its time.
    if fmt == "table":
        from hubguard.report.table import to_table

        return to_table(report, color=color, width=width, rules=rules)
    if fmt == "json":
        from hubguard.report.json_report import to_dict

        return _dump(to_dict(report))
    if fmt == "sarif":
        from hubguard.report.sarif import to_sarif

        return _dump(to_sarif(report, rules))
    if fmt == "github":
        from hubguard.report.github import to_github

        return to_github(report)
    raise InputError(f"unknown report format {fmt!r} (choose from {', '.join(FORMATS)})")


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
