"""Wording and ordering shared by every report format, so they describe a finding alike."""

from __future__ import annotations

from hubguard.model import (
    Finding,
    LayerRef,
    ScanReport,
    printable,
    short_digest,
    state_phrase,
    truncate,
    where,
)

# ``--output FILE`` writes the table this wide: the same file whatever terminal wrote it.
FILE_WIDTH = 100


def layer_label(layer: LayerRef, created_by_limit: int = 80) -> str:
    """``layer 3 sha256:… RUN …``: index, short digest and the step that made it."""
    label = f"layer {layer.index} {short_digest(layer.digest)}"
    if layer.created_by:
        label += " " + truncate(printable(" ".join(layer.created_by.split())), created_by_limit)
    return label


def describe(finding: Finding) -> str:
    """A multi-line message naming what, where, in which state, and the redacted preview."""
    lines = [printable(finding.title), f"where: {where(finding)}"]
    if finding.target:
        lines.append(f"target: {printable(finding.target)}")
    if finding.layer is not None and finding.layer.created_by:
        lines.append(f"created by: {layer_label(finding.layer, 120)}")
    lines.append(f"state: {state_phrase(finding)}")
    if finding.state != "present":
        lines.append("a later layer hides it, but the layer that added it still ships it")
    if finding.owner is not None:
        lines.append(f"owner: {owner_phrase(finding)}")
    if finding.redacted:
        lines.append(f"preview: {printable(finding.redacted)} (sha1 {finding.hashed_secret})")
    elif finding.hashed_secret:
        lines.append(f"sha1 of the file: {finding.hashed_secret}")
    return "\n".join(lines)


INHERITED_FIX = "update or change the base image"


def owner_phrase(finding: Finding) -> str:
    """``distro libgnutls30 (dpkg md5sums)``; an inherited finding names its fix."""
    owner = finding.owner
    if owner is None:
        return ""
    text = printable(owner.label)
    if owner.how:
        text += f" ({printable(owner.how)})"
    if owner.kind == "base":
        text += f", inherited: {INHERITED_FIX}"
    return text


def summary_text(report: ScanReport) -> str:
    """The one-line summary: counts by severity, what was suppressed (and by what) or skipped,
    and whether the scan read everything. Plain text, so ``--output`` needs no rich."""
    counts = ", ".join(f"{count} {label}" for label, count in report.counts().items())
    parts = [f"{plural(len(report.findings), 'finding')} ({counts})", suppressed_phrase(report)]
    if report.third_party_skipped:
        parts.append(f"{plural(report.third_party_skipped, 'third-party file')} skipped")
    not_own = {kind: count for kind, count in report.owner_counts().items() if kind != "own" and count}
    if not_own:
        parts.append(", ".join(f"{count} {kind}" for kind, count in not_own.items()) + " in files others own")
    if report.owner_quieted:
        parts.append(f"{report.owner_quieted} in distro/package files quieted")
    if report.notes:
        parts.append(plural(len(report.notes), "note"))
    if report.complete:
        parts.append("scan complete")
    else:
        parts.append(f"scan INCOMPLETE: {plural(len(report.problems), 'problem')}")
    return ", ".join(parts)


def suppressed_phrase(report: ScanReport) -> str:
    """``0 suppressed``, or ``24 findings suppressed by .secrets.baseline`` naming each source."""
    if not report.suppressed:
        return "0 suppressed"
    parts = [f"{count} by {printable(source)}" for source, count in report.suppressed_by.items() if count]
    pragmas = report.suppressed - sum(report.suppressed_by.values())
    if pragmas > 0:
        parts.append(f"{pragmas} by inline pragmas")
    if len(parts) == 1:
        return f"{plural(report.suppressed, 'finding')} suppressed {parts[0].split(' ', 1)[1]}"
    return f"{plural(report.suppressed, 'finding')} suppressed ({', '.join(parts)})"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
