"""Wording and ordering shared by every report format, so they describe a finding alike."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from hubguard.model import Finding, LayerRef

# Sources whose paths live in the image rather than in the repository being built.
IMAGE_SOURCES = frozenset({"layer", "config", "history"})


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    """Worst first, then by place: the same report renders byte-identically every run."""
    return sorted(
        findings,
        key=lambda f: (
            -f.severity,
            f.target,
            f.layer.index if f.layer else -1,
            f.path,
            f.line or 0,
            f.rule_id,
            f.fingerprint,
        ),
    )


def printable(text: str) -> str:
    """Escape control and format characters: image metadata is attacker-controlled, and an
    escape sequence or bidi override in ``created_by`` must not reach a terminal or CI log."""
    return "".join(
        char.encode("unicode_escape").decode("ascii") if unicodedata.category(char).startswith("C") else char
        for char in text
    )


def short_digest(digest: str, length: int = 12) -> str:
    """``sha256:0123456789ab`` – enough to tell layers apart, short enough for a table."""
    algorithm, sep, hexpart = digest.partition(":")
    return f"{algorithm}:{hexpart[:length]}" if sep else digest[:length]


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def layer_label(layer: LayerRef, created_by_limit: int = 80) -> str:
    """``layer 3 sha256:… RUN …``: index, short digest and the step that made it."""
    label = f"layer {layer.index} {short_digest(layer.digest)}"
    if layer.created_by:
        label += " " + truncate(printable(" ".join(layer.created_by.split())), created_by_limit)
    return label


def where(finding: Finding) -> str:
    """Path, line and layer in one phrase, e.g. ``/app/.env:3 in layer 2 sha256:…``."""
    text = printable(finding.path)
    if finding.line is not None:
        text += f":{finding.line}"
    if finding.layer is not None:
        text += f" in layer {finding.layer.index} {short_digest(finding.layer.digest)}"
    return text


def state_phrase(finding: Finding) -> str:
    """``present``, or ``deleted by layer 4 sha256:…`` – a deleted file still ships in its layer."""
    if finding.hidden_by is None:
        return finding.state
    hidden = finding.hidden_by
    return f"{finding.state} by layer {hidden.index} {short_digest(hidden.digest)}"


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
    if finding.redacted:
        lines.append(f"preview: {printable(finding.redacted)} (sha1 {finding.hashed_secret})")
    elif finding.hashed_secret:
        lines.append(f"sha1 of the file: {finding.hashed_secret}")
    return "\n".join(lines)
