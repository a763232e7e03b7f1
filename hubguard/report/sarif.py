"""SARIF 2.1.0 for GitHub code scanning (``github/codeql-action/upload-sarif``).

GitHub reads ``security-severity`` to rank alerts as critical/high/medium/low, and
``partialFingerprints`` to keep one alert per secret across runs; both come from here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from hubguard import __version__
from hubguard.model import Finding, ScanReport, Severity, ordered
from hubguard.report.common import describe

SARIF_SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
FINGERPRINT_KEY = "hubguardFingerprint/v1"

# GitHub's bands: over 9.0 critical, 7.0–8.9 high, 4.0–6.9 medium, 0.1–3.9 low.
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
}
LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
}

REMEDIATION = (
    "Treat the secret as leaked: rotate or revoke it. Then keep it out of the image: pass it "
    "at build time with a BuildKit secret mount (`RUN --mount=type=secret`), copy only what "
    "the image needs in a multi-stage build, and list credential files in .dockerignore. "
    "Deleting a file in a later layer does not help: the layer that added it still ships it."
)


def to_sarif(report: ScanReport, rules: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One run; ``rules`` (id → rule with title/description/severity) describes each ruleId.

    Only rules that have results are listed. A ruleId unknown to ``rules`` (a detect-secrets
    plugin, say) is described from its first finding.
    """
    rules = rules or {}
    findings = ordered(report.findings)
    descriptors: list[dict[str, Any]] = []
    rule_index: dict[str, int] = {}
    for finding in findings:
        if finding.rule_id not in rule_index:
            rule_index[finding.rule_id] = len(descriptors)
            descriptors.append(_descriptor(finding, rules.get(finding.rule_id)))
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "hubguard",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": descriptors,
                    }
                },
                "invocations": [_invocation(report)],
                "results": [_result(f, rule_index[f.rule_id]) for f in findings],
            }
        ],
    }


def artifact_uri(path: str) -> str:
    """A relative URI reference: image paths lose their leading ``/``; pseudo-paths such as
    ``Config.Env`` or ``history[2]`` are percent-encoded like any other path."""
    relative = re.sub(r"/{2,}", "/", path.replace("\\", "/")).lstrip("/")
    return quote(relative or ".", safe="/")


def _descriptor(finding: Finding, rule: Any | None) -> dict[str, Any]:
    title = getattr(rule, "title", "") or finding.title
    description = getattr(rule, "description", "") or title
    severity = getattr(rule, "severity", None) or finding.severity
    reference = getattr(rule, "reference", "")
    return {
        "id": finding.rule_id,
        "name": _rule_name(finding.rule_id),
        "shortDescription": {"text": title},
        "fullDescription": {"text": description},
        "help": {
            "text": f"{description}\n\n{REMEDIATION}",
            "markdown": f"**{title}**\n\n{description}\n\n{REMEDIATION}",
        },
        **({"helpUri": reference} if reference else {}),
        "defaultConfiguration": {"level": LEVEL[severity]},
        "properties": {
            "security-severity": SECURITY_SEVERITY[severity],
            "tags": ["security", "secret"],
        },
    }


def _rule_name(rule_id: str) -> str:
    """``github-pat`` → ``GithubPat``: SARIF wants a readable identifier without spaces."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", rule_id))


def _result(finding: Finding, index: int) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(finding.path)}}
    if finding.line is not None and finding.line >= 1:
        physical["region"] = {"startLine": finding.line}
    layer = finding.layer
    return {
        "ruleId": finding.rule_id,
        "ruleIndex": index,
        "level": LEVEL[finding.severity],
        "message": {"text": describe(finding)},
        "locations": [{"physicalLocation": physical}],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "properties": {
            "severity": finding.severity.label,
            "source": finding.source,
            "state": finding.state,
            "target": finding.target,
            "layer_index": layer.index if layer else None,
            "layer_digest": layer.digest if layer else None,
            "created_by": layer.created_by if layer else None,
            "hidden_by_digest": finding.hidden_by.digest if finding.hidden_by else None,
            "hashed_secret": finding.hashed_secret,
            "redacted": finding.redacted,
            "third_party": finding.third_party,
            "owner": finding.owner.kind if finding.owner else None,
            "owner_package": finding.owner.package if finding.owner else None,
            "owner_how": finding.owner.how if finding.owner else None,
        },
    }


def _invocation(report: ScanReport) -> dict[str, Any]:
    """An incomplete scan says so in SARIF too: each problem is an error notification, each
    note (something deliberately not opened) a note."""
    problems = [
        {"level": "error", "message": {"text": f"scan incomplete: {problem}"}} for problem in report.problems
    ]
    notes = [{"level": "note", "message": {"text": f"not scanned: {note}"}} for note in report.notes]
    return {"executionSuccessful": report.complete, "toolExecutionNotifications": problems + notes}
