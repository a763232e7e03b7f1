"""The JSON report (``hubguard/report/v1``): the stable, documented machine format.

Field by field description and the stability promise: docs/report-format.md. A change to
the shape of this dict is a change to that document and, if not purely additive, a new
schema version.
"""

from __future__ import annotations

from typing import Any

from hubguard import __version__
from hubguard.model import ScanReport, ordered

SCHEMA = "hubguard/report/v1"


def summary(report: ScanReport) -> dict[str, Any]:
    """Counts a CI step can gate on without walking the findings."""
    return {
        "findings": len(report.findings),
        "by_severity": report.counts(),
        "suppressed": report.suppressed,
        "complete": report.complete,
        "problems": list(report.problems),
        "notes": list(report.notes),
        "third_party_skipped": report.third_party_skipped,
        "by_owner": report.owner_counts(),
        "owner_quieted": report.owner_quieted,
        "suppressed_by": dict(sorted(report.suppressed_by.items())),
        "capped": sum(1 for finding in report.findings if finding.more),
    }


def to_dict(report: ScanReport) -> dict[str, Any]:
    """The whole report as plain JSON types; findings worst first, then by place."""
    return {
        "schema": SCHEMA,
        "tool": {"name": "hubguard", "version": __version__},
        "targets": [target.to_json() for target in report.targets],
        "findings": [finding.to_json() for finding in ordered(report.findings)],
        "summary": summary(report),
    }
