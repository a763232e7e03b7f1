"""The shared vocabulary: severities, where a finding sits, and the finding itself.

A finding never holds a secret value: only its SHA-1 (detect-secrets' ``hashed_secret``
convention) and a short redacted preview.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import IntEnum
from typing import Literal, Protocol


class Severity(IntEnum):
    """Ordered so that thresholds compare with ``>=``."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, name: str) -> Severity:
        try:
            return cls[name.strip().upper()]
        except KeyError:
            choices = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {name!r} (choose from {choices})") from None

    @property
    def label(self) -> str:
        return self.name.lower()


# Where a finding was read: an image's layer, config or history; a build context, its
# .dockerignore, a Dockerfile, a CI file.
FindingSource = Literal["layer", "config", "history", "context", "dockerignore", "dockerfile", "ci"]
# What a file's bytes are in the final image: shipped and visible, or still shipped in an
# earlier layer but hidden by a later one.
FileState = Literal["present", "deleted", "overwritten"]


@dataclass(frozen=True)
class LayerRef:
    """One filesystem layer of an image: its position, digest (diff_id) and the step that made it."""

    index: int
    digest: str
    created_by: str = ""


OWNER_KINDS = ("own", "distro", "package", "base")


@dataclass(frozen=True)
class Owner:
    """Who put a file into the image, read from the image's own records (see hubguard/owners).

    ``kind``: ``own`` (the user's: every detector, fails), ``distro`` (an OS package, unmodified),
    ``package`` (a language package from a public index, unmodified) or ``base`` (a layer
    inherited from the base image). ``package`` names the package where known; ``how`` says
    which record decided it.
    """

    kind: str = "own"
    package: str = ""
    how: str = ""

    @property
    def label(self) -> str:
        """``distro libgnutls30``, ``own`` – kind and package, as the table shows it."""
        return f"{self.kind} {self.package}" if self.package else self.kind


def hash_secret(value: str) -> str:
    """SHA-1 hex of the secret, as detect-secrets stores it in baselines."""
    return hashlib.sha1(value.encode("utf-8", "surrogateescape")).hexdigest()


def redact(value: str) -> str:
    """A few leading characters and an ellipsis; never more than a quarter of the value."""
    shown = min(4, len(value) // 4)
    return value[:shown] + "…"


def fingerprint(rule_id: str, hashed_secret: str, path: str) -> str:
    """Stable across line shifts and rebuilds: rule + secret hash + path."""
    digest = hashlib.sha256(
        f"{rule_id}\0{hashed_secret}\0{path}".encode("utf-8", "surrogateescape")
    ).hexdigest()
    return digest[:32]


@dataclass(frozen=True)
class Finding:
    """One secret or credential file, where it is, and what state it ships in."""

    rule_id: str
    title: str
    severity: Severity
    source: FindingSource
    path: str
    line: int | None
    hashed_secret: str
    redacted: str
    layer: LayerRef | None = None
    state: FileState = "present"
    hidden_by: LayerRef | None = None
    target: str = ""
    third_party: bool = False
    owner: Owner | None = None  # image layers only: who owns the file (None: config, history, context)
    fingerprint: str = field(default="")
    more: int = 0  # a summary of a capped file: this many more findings of the rule there

    def __post_init__(self) -> None:
        if not self.fingerprint:
            object.__setattr__(self, "fingerprint", fingerprint(self.rule_id, self.hashed_secret, self.path))

    def to_json(self) -> dict:
        data = asdict(self)
        data["severity"] = self.severity.label
        return data


@dataclass(frozen=True)
class Target:
    """What was scanned: an image (by reference and ID) or a build context directory."""

    kind: str  # "image" or "context"
    name: str  # the reference or directory as the user gave it
    image_id: str = ""
    platform: str = ""
    layers: tuple[LayerRef, ...] = ()

    def to_json(self) -> dict:
        return asdict(self)


class ReportableHit(Protocol):
    """What a detector's hit offers a report (hubguard.detect.engine.Hit): model imports no detector."""

    @property
    def pragma(self) -> bool: ...

    def finding(self, source: str, target: str, *, path: str | None = None, **where: object) -> Finding: ...


@dataclass
class ScanReport:
    """Everything a report format renders.

    ``problems`` is what could not be read (the scan is incomplete: exit 3, no push);
    ``notes`` is what was deliberately not opened (an archive over the size limit).
    """

    targets: list[Target] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    suppressed: int = 0
    # Of ``suppressed``: how many each file (``.secrets.baseline``, ``.hubguardignore``) took;
    # the rest were inline pragmas.
    suppressed_by: dict[str, int] = field(default_factory=dict)
    third_party_skipped: int = 0
    owner_quieted: int = 0  # hits in distro/package files dropped by their owner's policy

    @property
    def complete(self) -> bool:
        return not self.problems

    def merge(self, other: ScanReport) -> None:
        """Fold another scan into this one (push scans several images, pre-commit several
        contexts): one report, one verdict."""
        self.targets += other.targets
        self.findings += other.findings
        self.problems += other.problems
        self.notes += other.notes
        self.suppressed += other.suppressed
        for name, count in other.suppressed_by.items():
            self.suppressed_by[name] = self.suppressed_by.get(name, 0) + count
        self.third_party_skipped += other.third_party_skipped
        self.owner_quieted += other.owner_quieted

    def add_hit(self, hit: ReportableHit, source: str, target: str, **where: object) -> None:
        """A detector's hit as a finding of ``target`` (``where``: path, layer, state, hidden_by,
        third_party, owner), or one more suppressed when an inline pragma marked it: image and
        context scans count them the same way."""
        if hit.pragma:
            self.suppressed += 1
            return
        self.findings.append(hit.finding(source, target, **where))

    def blocking(self, threshold: Severity) -> list[Finding]:
        """The findings that fail a gate at ``threshold``: third-party ones are reported, never
        failing. The one place the severity gate is written."""
        return [f for f in self.findings if f.severity >= threshold and not f.third_party]

    def counts(self) -> dict[str, int]:
        counts = {severity.label: 0 for severity in sorted(Severity, reverse=True)}
        for finding in self.findings:
            counts[finding.severity.label] += 1
        return counts

    def owner_counts(self) -> dict[str, int]:
        """Findings per owner kind (image layers only)."""
        counts = dict.fromkeys(OWNER_KINDS, 0)
        for finding in self.findings:
            if finding.owner is not None:
                counts[finding.owner.kind] += 1
        return counts


# Wording and order shared by the policy's messages and every report format.


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
