"""Coverage: which sensitive files the builder receives, the .dockerignore lines that would
keep them out (what ``--fix`` appends), and the lines that keep out nothing.

A sent file is sensitive when a credential-file rule matches it or a token rule finds a secret
in it (:class:`Exposure`). Each exposure is a finding at the ignore-file line ``--fix`` would
add, naming that line; a missing ignore file while anything sensitive is sent is one more
finding, and a line that matches nothing (not a defensive entry, ``[defensive]`` in the rule
packs) is a low-severity lint.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hubguard.detect.content import Sample
from hubguard.detect.rules import FileRule, RuleSet, load_rules
from hubguard.dockerignore.matcher import DockerIgnore, line_index
from hubguard.dockerignore.pattern import IGNORE_FILE_NAME, IgnoreLine, docker_pattern, go_clean
from hubguard.errors import InputError
from hubguard.model import Finding, ScanReport, Severity, fingerprint, hash_secret
from hubguard.sources.context import ContextListing

COVERAGE_RULE = "dockerignore-coverage"
MISSING_RULE = "dockerignore-missing"
UNUSED_RULE = "dockerignore-unused-pattern"
FIX_HEADER = "# added by hubguard"
GLOB_SPECIALS = frozenset("*?[]\\")
UNUSED_LIMIT = 100  # unused-line lints listed per ignore file; the rest are counted in a note


@dataclass(frozen=True)
class ContextRule:
    """Metadata for the coverage findings, shaped like a rule so SARIF can describe them."""

    id: str
    title: str
    severity: Severity
    description: str


CONTEXT_RULES = {
    rule.id: rule
    for rule in (
        ContextRule(
            COVERAGE_RULE,
            "Sensitive file sent to the builder",
            Severity.HIGH,
            "A credential file, or a file holding a secret, is not excluded by the ignore file, so "
            "`docker build` sends it and `COPY . …` puts it in the image. Add the suggested line "
            "(`hubguard context --fix` appends it).",
        ),
        ContextRule(
            MISSING_RULE,
            "No .dockerignore, and the build context holds sensitive files",
            Severity.HIGH,
            "Without an ignore file every file in the directory is sent to the builder. "
            "`hubguard context --fix` creates one that excludes the sensitive files found.",
        ),
        ContextRule(
            UNUSED_RULE,
            ".dockerignore line matches nothing",
            Severity.LOW,
            "The pattern excludes no file in the build context and is not a common defensive "
            "entry: often a typo (Docker patterns are anchored at the context root, unlike "
            ".gitignore: `secret.txt` does not match `app/secret.txt`; use `**/secret.txt`).",
        ),
    )
}


@dataclass(frozen=True)
class Exposure:
    """A sensitive file the builder receives, and the ignore line that would keep it out."""

    path: str
    rule_id: str
    title: str
    severity: Severity
    hashed_secret: str
    redacted: str
    suggestion: str
    third_party: bool = False  # only ever set with include_third_party: reported, never blocking


@dataclass
class ContextCheck:
    """One context's answer: the walk, the report, and what ``--fix`` would have to cover."""

    listing: ContextListing
    report: ScanReport
    exposures: list[Exposure] = field(default_factory=list)
    prefix: str = ""  # shown before every path in the report

    @property
    def ignore_target(self) -> str:
        """The ignore file a fix writes: the one in force, else the context's ``.dockerignore``."""
        return self.listing.ignore_file or IGNORE_FILE_NAME


def file_rule_exposure(path: str, rule: FileRule, sample: Sample) -> Exposure:
    suggestion = rule.dockerignore or exact_pattern(path)
    return Exposure(path, rule.id, rule.title, rule.severity, sample.sha1_hex(), sample.preview(), suggestion)


def exact_pattern(path: str) -> str:
    """An ignore line matching exactly ``path``: glob characters, and a leading ``#``, ``!`` or
    blank (which Docker would read as syntax), escaped with a backslash. Docker trims trailing
    blanks before it reads the escapes, so those become ``?`` (any one character)."""
    stripped = path.rstrip(" \t")
    escaped = "".join("\\" + char if char in GLOB_SPECIALS else char for char in stripped)
    if escaped[:1] in ("#", "!", " ", "\t"):
        escaped = "\\" + escaped
    return escaped + "?" * (len(path) - len(stripped))


def printable_path(path: str) -> str:
    """A path whose name may hold undecodable bytes, in a form any report can print."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


@dataclass(frozen=True)
class FixPlan:
    """The lines to append, in order; for each exposed path, the line that covers it and the
    line number it lands on; whether the header comment goes first."""

    lines: list[str]
    covering: dict[str, str]
    landing_line: dict[str, int]
    needs_header: bool


def plan_fix(check: ContextCheck) -> FixPlan:
    """Minimal lines to append, most severe exposures first: an exposure that an already chosen
    line covers adds nothing, and a rule's suggestion that would not actually exclude the file
    (its name matched by content, or a user exception after it) gives way to the exact path.

    A suggestion the user already wrote is still appended when a later ``!`` line overrides it:
    only a line after the exception wins, so order, not text, decides.
    """
    listing = check.listing
    existing = _read_lines(listing.root / check.ignore_target)
    patterns = [line.pattern for line in listing.patterns]
    chosen: list[str] = []
    covering: dict[str, str] = {}
    for exposure in sorted(check.exposures, key=lambda e: (-e.severity, e.suggestion, e.path)):
        if chosen and DockerIgnore([*patterns, *chosen], listing.builder).excludes(exposure.path):
            covering[exposure.path] = next(
                (line for line in chosen if DockerIgnore([line], listing.builder).excludes(exposure.path)),
                chosen[-1],
            )
            continue
        line = exposure.suggestion
        if not DockerIgnore([*patterns, *chosen, line], listing.builder).excludes(exposure.path):
            line = exact_pattern(exposure.path)
        if line not in chosen:
            chosen.append(line)
        covering[exposure.path] = line
    needs_header = bool(chosen) and FIX_HEADER not in (text.strip() for text in existing)
    first = len(existing) + 1 + int(needs_header)
    position = {line: first + index for index, line in enumerate(chosen)}
    landing = {path: position[line] for path, line in covering.items()}
    return FixPlan(chosen, covering, landing, needs_header)


def _read_lines(path: Path) -> list[str]:
    """The ignore file's lines, to number the appended ones; none if it is missing or unreadable
    (the walk has reported an unreadable one, and ``fix`` refuses it)."""
    try:
        return path.read_bytes().decode("utf-8", "surrogateescape").splitlines()
    except OSError:
        return []


def coverage_findings(check: ContextCheck) -> None:
    """A finding per exposure, at the line ``--fix`` would add; one more when there is no ignore file."""
    if not check.exposures:
        return
    plan = plan_fix(check)
    report, target = check.report, check.report.targets[0].name
    ignore_file = check.prefix + check.ignore_target
    missing = check.listing.ignore_file is None
    for exposure in check.exposures:
        line, shown = (
            printable_path(plan.covering[exposure.path]),
            check.prefix + printable_path(exposure.path),
        )
        # No ignore file: no line number in a file that does not exist. The preview is the sent
        # file's own (its secret findings carry theirs), so a coverage finding shows none.
        report.findings.append(
            Finding(
                rule_id=COVERAGE_RULE,
                title=f'add "{line}" to {ignore_file}: {shown} ({exposure.title}) is sent to the builder',
                severity=exposure.severity,
                source="dockerignore",
                path=ignore_file,
                line=None if missing else plan.landing_line[exposure.path],
                hashed_secret=exposure.hashed_secret,
                redacted="",
                target=target,
                third_party=exposure.third_party,
                fingerprint=fingerprint(COVERAGE_RULE, exposure.hashed_secret, shown),
            )
        )
    if check.listing.ignore_file is None:
        count = len(check.exposures)
        report.findings.append(
            Finding(
                rule_id=MISSING_RULE,
                title=f"no {check.prefix}{IGNORE_FILE_NAME}, and {count} sensitive "
                f"file{'s' * (count != 1)} would be sent to the builder: create it (hubguard context --fix)",
                severity=Severity.HIGH,
                source="dockerignore",
                path=check.prefix + IGNORE_FILE_NAME,
                line=None,
                hashed_secret="",
                redacted="",
                target=target,
            )
        )


def unused_findings(check: ContextCheck, rules: RuleSet) -> None:
    """Lines that exclude nothing, except defensive entries and hubguard's own suggestions
    (a line ``--fix`` added must not turn into a lint once the file it excluded is gone)."""
    ignore_file = check.prefix + check.ignore_target
    suggested = [rule.dockerignore for rule in rules.file_rules if rule.dockerignore]
    unused = unused_patterns(check.listing.patterns, check.listing, [*rules.defensive, *suggested])
    if len(unused) > UNUSED_LIMIT:
        check.report.notes.append(
            f"{ignore_file}: {len(unused) - UNUSED_LIMIT} more lines match nothing in the build context "
            f"(only the first {UNUSED_LIMIT} are listed)"
        )
    for line in unused[:UNUSED_LIMIT]:
        check.report.findings.append(
            Finding(
                rule_id=UNUSED_RULE,
                title=f'"{line.pattern}" in {ignore_file} matches nothing in the build context',
                severity=Severity.LOW,
                source="dockerignore",
                path=ignore_file,
                line=line.line,
                hashed_secret="",
                redacted="",
                target=check.report.targets[0].name,
                fingerprint=fingerprint(UNUSED_RULE, hash_secret(line.pattern), ignore_file),
            )
        )


def unused_patterns(
    lines: Sequence[IgnoreLine],
    listing: ContextListing,
    defensive: Iterable[str] | None = None,
) -> list[IgnoreLine]:
    """Lines that match nothing in the context, ``defensive`` entries aside (as the packs write
    them; by default the built-in packs' ``[defensive]`` entries): a LOW-severity lint.

    The walk does not enter excluded directories, so a line that could only match inside
    one is given the benefit of the doubt.
    """
    entries = load_rules().defensive if defensive is None else defensive
    keep = frozenset(go_clean(entry).lstrip("/") for entry in entries)  # as Docker reads a line
    seen = [entry.path for entry in (*listing.entries, *listing.excluded)]
    unentered = [entry.path for entry in listing.excluded if entry.kind == "dir"]
    index = line_index([line.pattern for line in lines])
    used: set[int] = set()
    for path in seen:
        used |= index.matching(path)
    unused = []
    for position, (line, pattern) in enumerate(zip(lines, index.patterns, strict=True)):
        if position in used or pattern.text in keep:
            continue
        if any(_may_match_below(pattern.text, directory) for directory in unentered):
            continue
        unused.append(line)
    return unused


def _may_match_below(text: str, directory: str) -> bool:
    """Could a line match something inside ``directory``, which the walk did not enter?"""
    directory_parts = directory.split("/")
    for index, component in enumerate(text.split("/")):
        if index >= len(directory_parts) or "**" in component:
            return True
        try:
            # A leading "!" inside a path is a literal, not an exception.
            component_pattern = docker_pattern("\\" + component if component[:1] == "!" else component, False)
        except InputError:
            return True
        if not component_pattern.matches(directory_parts[index]):
            return False
    return False


def append_lines(path: Path, lines: list[str]) -> None:
    """Append at the very end, in the file's own line-ending style, after a final newline."""
    try:
        data = path.read_bytes() if path.exists() else b""
        newline = b"\r\n" if b"\r\n" in data else b"\n"
        prefix = newline if data and not data.endswith(b"\n") else b""
        text = prefix + b"".join(line.encode("utf-8", "surrogateescape") + newline for line in lines)
        # O_NOFOLLOW: a symlink swapped in since the check is refused, never written through.
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        with os.fdopen(descriptor, "ab") as handle:
            handle.write(text)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {(exc.strerror or str(exc)).lower()}") from None


def outside(root: Path, path: Path) -> bool:
    """Whether ``path``, symlinks resolved, lies outside ``root``."""
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return True
    return False
