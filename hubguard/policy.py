"""Decide whether a scanned image may be pushed to a repository of a given visibility.

The rules are deliberately few: an incomplete scan never pushes; a public (or unknown)
repository takes no finding at or above ``public_threshold``; a private one only refuses
findings at or above ``private_threshold`` and shows the rest as warnings. There is no
blanket override: a user allows a finding by naming its fingerprint (``.hubguardignore``)
or recording it in a baseline, so every exception is deliberate and reviewable.

Findings marked ``third_party`` warn but never block, exactly as they never fail
``hubguard scan``: in images, files whose owner (hubguard/owners) is not one of
``--fail-owners`` (distro, package and inherited base files by default); in build contexts,
third-party paths scanned with ``--include-third-party``.
"""

from __future__ import annotations

from dataclasses import dataclass

from hubguard.config import Config
from hubguard.errors import ScanIncomplete
from hubguard.model import Finding, ScanReport, Severity
from hubguard.report.common import ordered, state_phrase, where
from hubguard.suppress import BASELINE_FILE, IGNORE_FILE
from hubguard.visibility import Visibility

EXIT_ALLOWED = 0
EXIT_REFUSED = 1


@dataclass(frozen=True)
class Decision:
    """Push or not, why, and what the user can do about a refusal.

    ``blocking`` are the findings that caused a refusal; ``warnings`` are shown but let the
    push through. ``exit_code`` is 0 (allowed), 1 (refused by policy) or 3 (scan incomplete).
    """

    allowed: bool
    exit_code: int
    reasons: tuple[str, ...]
    blocking: tuple[Finding, ...] = ()
    warnings: tuple[Finding, ...] = ()

    @property
    def fingerprints(self) -> tuple[str, ...]:
        """The fingerprints to allow, one per blocking finding, in report order."""
        return tuple(dict.fromkeys(finding.fingerprint for finding in self.blocking))

    def explain(self) -> list[str]:
        """Lines for the user: the reasons and, for a refusal by policy, how to allow each
        finding deliberately."""
        lines = list(self.reasons)
        if self.blocking:
            lines.append(
                f"to allow a finding deliberately, add its line (with your reason) to {IGNORE_FILE}:"
            )
            seen: set[str] = set()
            for finding in self.blocking:
                if finding.fingerprint in seen:
                    continue
                seen.add(finding.fingerprint)
                lines.append(f"  fingerprint:{finding.fingerprint}  # {_describe(finding)}")
            lines.append(
                f"or accept every current finding in a baseline: hubguard baseline IMAGE "
                f"(writes {BASELINE_FILE}), then push again"
            )
        return lines


def decide(report: ScanReport, visibility: Visibility, config: Config) -> Decision:
    """The policy decision for pushing the image(s) in ``report`` to a repository that is
    ``visibility``; suppressions must already have been applied to ``report``."""
    if report.problems:
        return Decision(
            allowed=False,
            exit_code=ScanIncomplete.exit_code,
            reasons=("the scan is incomplete, so nothing is pushed: " + "; ".join(report.problems),),
        )
    threshold = config.public_threshold if visibility.public else config.private_threshold
    blocking = tuple(ordered(report.blocking(threshold)))
    warnings = tuple(finding for finding in ordered(report.findings) if finding not in blocking)
    destination = _destination(visibility)
    if blocking:
        return Decision(
            allowed=False,
            exit_code=EXIT_REFUSED,
            reasons=(
                f"refused: {_count(len(blocking))} at or above {_threshold(threshold)} "
                f"for a push to a {destination}",
            ),
            blocking=blocking,
            warnings=warnings,
        )
    if warnings:
        reason = (
            f"allowed with {_count(len(warnings))} as warnings (below {_threshold(threshold)}) "
            f"for a push to a {destination}"
        )
    else:
        reason = f"allowed: no findings at or above {_threshold(threshold)} for a push to a {destination}"
    return Decision(allowed=True, exit_code=EXIT_ALLOWED, reasons=(reason,), warnings=warnings)


def _destination(visibility: Visibility) -> str:
    if visibility.source == "unknown":
        return "repository of unknown visibility (treated as public)"
    return "public repository" if visibility.public else "private repository"


def _describe(finding: Finding) -> str:
    """What a fingerprint stands for, so the ignore line reviews well: never the secret."""
    text = f"{finding.rule_id} ({finding.severity.label}) at {where(finding)}"
    return text if finding.state == "present" else f"{text}, {state_phrase(finding)}"


def _count(number: int) -> str:
    return f"{number} finding" if number == 1 else f"{number} findings"


def _threshold(severity: Severity) -> str:
    return f"severity {severity.label}"
