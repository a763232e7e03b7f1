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

A refusal then says what to do next, in the order that actually fixes the leak
(``refusal_lines``): where each secret is (path:line, layer, the build step that added it);
revoke or rotate it, in the words of the rule's own description, as it has shipped before;
remove it and rebuild; or make the repository private (the exact ``[visibility]`` line and
the Docker Hub setting); only then, how to suppress a false positive. Never the secret
itself: findings only carry a redacted preview and a hash.
"""

from __future__ import annotations

from dataclasses import dataclass

from hubguard.config import Config
from hubguard.errors import EXIT_CLEAN, EXIT_FINDINGS, ScanIncomplete
from hubguard.model import Finding, ScanReport, Severity, ordered, printable, state_phrase, truncate, where
from hubguard.push.reference import Reference
from hubguard.push.visibility import Visibility
from hubguard.suppress import BASELINE_FILE, IGNORE_FILE


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
            exit_code=EXIT_FINDINGS,
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
    return Decision(allowed=True, exit_code=EXIT_CLEAN, reasons=(reason,), warnings=warnings)


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


REBUILD_ADVICE = (
    "remove it and rebuild: keep the file out of the build context (.dockerignore), copy only what "
    "runs into the final stage (multi-stage build), and pass build-time secrets with "
    "RUN --mount=type=secret instead of ARG or ENV (a deleted file still ships in its layer)"
)


def refusal_lines(decision: Decision, target: Reference, rules: dict[str, object]) -> list[str]:
    """The steps above, for ``target`` (the real name, as typed by docker users)."""
    name = target.familiar_string
    lines = [f"{len(decision.fingerprints)} secret(s) block the push of {name}:"]
    unique = list({finding.fingerprint: finding for finding in decision.blocking}.values())
    for number, finding in enumerate(unique, start=1):
        lines.append(f"  {number}. {_where(finding)}")
    lines.append("what to do, in order:")
    lines.append("  1. revoke or rotate each secret now, it may have been copied already:")
    for rule_id in dict.fromkeys(finding.rule_id for finding in unique):
        description = getattr(rules.get(rule_id), "description", "") or ""
        text = " ".join(description.split()) or "revoke it where it was issued and create a new one"
        lines.append(f"     {rule_id}: {printable(text)}")
    lines.append(f"  2. {REBUILD_ADVICE}; then tag and run hubguard push {name} again")
    lines.append(f"  3. or push to a private repository: make {target.familiar} private")
    if target.is_docker_hub:
        lines.append(
            f"     on Docker Hub: hub.docker.com/repository/docker/{target.path}/settings → "
            "Visibility settings → Make private (a new repository: hubguard push --create-private);"
        )
        lines.append("     hubguard reads that from the Hub API, and your .hubguard.toml may say so too:")
    else:
        lines.append(f"     in {target.domain}'s own settings, and tell hubguard so in .hubguard.toml:")
    lines.append("       [visibility]")
    lines.append(f'       "{target.name}" = "private"')
    lines.append("  4. only if a finding is a false positive, allow it deliberately: add its line")
    lines.append(f"     (with your reason) to {IGNORE_FILE}:")
    for finding in unique:
        lines.append(f"       fingerprint:{finding.fingerprint}  # {finding.rule_id} at {where(finding)}")
    lines.append(
        f"     or record every current finding in a baseline: hubguard baseline {name} "
        f"(writes {BASELINE_FILE})"
    )
    return lines


def _where(finding: Finding) -> str:
    text = f"{finding.rule_id} ({finding.severity.label}) at {where(finding)}"
    if finding.layer is not None and finding.layer.created_by:
        text += f", added by {truncate(printable(' '.join(finding.layer.created_by.split())), 100)}"
    if finding.state != "present":
        text += f", {state_phrase(finding)} (still shipped in the layer that added it)"
    return text
