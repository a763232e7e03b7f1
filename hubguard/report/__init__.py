"""Turn a ScanReport into text: ``table`` for people, ``json``/``sarif`` for tools, ``github``
for Actions annotations. The CLI writes the returned text to stdout or ``--output``.

No format can leak a secret value: findings carry only its SHA-1 and a redacted preview.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from hubguard.errors import InputError
from hubguard.model import ScanReport


class Renderer(Protocol):
    """One report format: the report as text (``rules``, ``color`` and ``width`` as for render)."""

    def __call__(
        self, report: ScanReport, *, rules: Mapping[str, Any] | None, color: bool | None, width: int | None
    ) -> str: ...


# Each format is imported when used: rich alone costs a warm scan a quarter of its time.
def _table(
    report: ScanReport, *, rules: Mapping[str, Any] | None, color: bool | None, width: int | None
) -> str:
    from hubguard.report.table import to_table

    return to_table(report, color=color, width=width, rules=rules)


def _json(report: ScanReport, **_: Any) -> str:
    from hubguard.report.json_report import to_dict

    return _dump(to_dict(report))


def _sarif(report: ScanReport, *, rules: Mapping[str, Any] | None, **_: Any) -> str:
    from hubguard.report.sarif import to_sarif

    return _dump(to_sarif(report, rules))


def _github(report: ScanReport, **_: Any) -> str:
    from hubguard.report.github import to_github

    return to_github(report)


RENDERERS: dict[str, Renderer] = {"table": _table, "json": _json, "sarif": _sarif, "github": _github}
FORMATS = tuple(RENDERERS)  # the names the CLI offers, in this order


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
    renderer = RENDERERS.get(fmt)
    if renderer is None:
        raise InputError(f"unknown report format {fmt!r} (choose from {', '.join(FORMATS)})")
    return renderer(report, rules=rules, color=color, width=width)


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
