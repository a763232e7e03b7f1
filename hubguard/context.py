"""Scan a build context: the secrets ``docker build`` would send, and the .dockerignore lines
that would stop the sensitive files it sends.

Two questions, one walk (:func:`hubguard.dockerignore.walk_context`, so exactly the files the
builder receives):

1. *Secrets in sent files* (source ``context``): every sent regular file goes through
   :func:`hubguard.detect.content.inspect_file`, the function the image scanner calls per
   layer file, so context and image reports agree.
2. *Coverage* (source ``dockerignore``): a sent file is sensitive when a credential-file rule
   matches it (by name, and by content for rules with ``content``) or a token rule finds a
   secret in it. Each one is a finding at the ignore-file line that ``--fix`` would add,
   naming that line. A missing ignore file while anything sensitive is sent is one more
   finding, and a line that matches nothing (not a defensive entry) is a low-severity lint.

Third-party code is recognised by path (``[third_party]`` in ``rules/third_party.toml``; a
context has no package database, while images read theirs, hubguard/owners): a vendored
``node_modules`` that is sent is not read unless ``include_third_party`` is set, and then its
findings are marked third-party and never fail the run, so library fixtures full of sample
keys do not drown the user's own secrets. The Dockerfile and the ignore file are scanned for
secrets (they always reach the builder) but never suggested for exclusion: that could not keep
them out.
"""

from __future__ import annotations

import io
import os
import subprocess
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from itertools import repeat
from pathlib import Path

from hubguard.detect.content import DEFAULT_LIMITS, FileResult, Limits, Sample, inspect_file
from hubguard.detect.engine import Detector, Hit
from hubguard.detect.names import name_guard
from hubguard.detect.rules import FileRule, RuleSet, load_rules
from hubguard.dockerignore import (
    DEFAULT_BUILDER,
    IGNORE_FILE_NAME,
    ContextListing,
    DockerIgnore,
    defensive_patterns,
    go_clean,
    parse_dockerignore,
    unused_patterns,
    walk_context,
)
from hubguard.errors import InputError, ScanIncomplete
from hubguard.model import Finding, ScanReport, Severity, Target, fingerprint, hash_secret
from hubguard.workers import forked_pool

COVERAGE_RULE = "dockerignore-coverage"
MISSING_RULE = "dockerignore-missing"
UNUSED_RULE = "dockerignore-unused-pattern"
FIX_HEADER = "# added by hubguard"
GLOB_SPECIALS = frozenset("*?[]\\")
PARALLEL_MIN_FILES = 1000  # below this, starting worker processes costs more than it saves
PARALLEL_CHUNK = 256


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


@dataclass(frozen=True)
class FixResult:
    """What ``--fix`` appended, where, and the re-walked check proving the coverage now holds."""

    path: Path
    added: list[str]
    check: ContextCheck
    created: bool = False  # there was no ignore file: --fix wrote a new one


@dataclass
class FileOutcome:
    """What one sent file yields: hits, notes, its exposure if sensitive, or why it was unreadable."""

    hits: list[Hit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    exposure: Exposure | None = None
    problem: str | None = None


class ContextScanner:
    """Rules and detector built once, reused for every context (pre-commit may touch several)."""

    def __init__(
        self,
        rules_dirs: Iterable[Path] = (),
        *,
        include_third_party: bool = False,
        exhaustive: bool = False,
        coverage_only: bool = False,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.rules: RuleSet = load_rules(tuple(rules_dirs))
        self.exhaustive = exhaustive
        self.include_third_party = include_third_party
        self.coverage_only = coverage_only
        self.limits = limits
        # ``progress(done_bytes, total_bytes)`` as sent files are read; set by a caller that
        # shows it (the sizes cost a stat per file, so only then).
        self.progress: Callable[[int, int], None] | None = None

    @cached_property
    def detector(self) -> Detector:
        """Built on first use: a coverage-only check never needs it."""
        return Detector(self.rules, exhaustive=self.exhaustive)

    def check(
        self,
        context_dir: Path,
        dockerfile: str | None = None,
        builder: str = DEFAULT_BUILDER,
        only: Collection[str] | None = None,
        *,
        name: str | None = None,
        prefix: str = "",
    ) -> ContextCheck:
        """Walk and scan one context. ``only`` (context-relative paths) limits which sent files
        are read and judged, for pre-commit; the coverage lint of unused lines needs the whole
        context, so it runs only when ``only`` is None. ``name`` labels the report's target and
        ``prefix`` goes before every path the report shows (pre-commit shows repository paths)."""
        listing = walk_context(context_dir, dockerfile, builder)
        target = Target("context", name or str(context_dir))
        report = ScanReport(
            targets=[target],
            problems=[prefix + problem for problem in listing.problems],
            notes=[prefix + note for note in listing.notes],
        )
        check = ContextCheck(listing, report, prefix=prefix)
        build_files = {listing.dockerfile, listing.ignore_file}
        todo = []
        for entry in listing.files():
            if only is not None and entry.path not in only:
                continue
            if self.rules.is_third_party(entry.path) and not self.include_third_party:
                report.third_party_skipped += 1
                continue
            if not self.rules.path_allowed(entry.path):
                todo.append(entry.path)
        for path, outcome in zip(todo, self._scan_files(listing.root, todo), strict=True):
            report.notes.extend(prefix + note for note in outcome.notes)
            self._add_secret_findings(report, outcome.hits, prefix)
            problem = None if outcome.problem is None else prefix + outcome.problem
            if problem is not None and problem not in report.problems:
                report.problems.append(problem)  # the walk may have seen it already
            if outcome.exposure is not None and path not in build_files:
                third_party = self.include_third_party and self.rules.is_third_party(path)
                check.exposures.append(replace(outcome.exposure, third_party=third_party))
        _coverage_findings(check)
        if only is None and listing.ignore_file and listing.patterns:
            _unused_findings(check, self.rules)
        return check

    def _scan_files(self, root: Path, paths: list[str]) -> list[FileOutcome]:
        """In order; in forked worker processes (one per core) when there are many files."""
        jobs = len(os.sched_getaffinity(0))
        if jobs < 2 or len(paths) < PARALLEL_MIN_FILES:
            return self._counted(root, paths, (self.scan_file(root, path) for path in paths))
        global _WORKER_SCANNER
        _WORKER_SCANNER = self  # inherited by the forked workers: rules compile once
        with forked_pool(jobs) as pool:
            outcomes = pool.map(_scan_file_in_worker, repeat(root), paths, chunksize=PARALLEL_CHUNK)
            return self._counted(root, paths, outcomes)

    def _counted(self, root: Path, paths: list[str], outcomes: Iterable[FileOutcome]) -> list[FileOutcome]:
        """Collect ``outcomes`` (one per path, in order), telling ``progress`` the bytes read."""
        if self.progress is None:
            return list(outcomes)
        sizes = [_size(root / path) for path in paths]
        total, done, collected = sum(sizes), 0, []
        for size, outcome in zip(sizes, outcomes, strict=True):
            collected.append(outcome)
            done += size
            self.progress(done, total)
        return collected

    def scan_file(self, root: Path, path: str) -> FileOutcome:
        """Secrets in one sent file, and whether it is sensitive (an exposure if it is sent)."""
        name_rules = self.rules.file_rules_named(path)
        if self.coverage_only and not name_rules:
            return FileOutcome()
        name_hits: dict[tuple[str, str], Hit] = {}
        shown = name_guard(self.rules).shown(path, name_hits)  # a token in a name is a finding too
        try:
            with open(root / path, "rb") as handle:
                if self.coverage_only:  # the name decided; only the head and hash are needed
                    result = FileResult(sample=Sample(handle).drain())  # type: ignore[arg-type]
                else:
                    size = os.fstat(handle.fileno()).st_size
                    result = inspect_file(self.detector, shown, size, handle, self.limits)  # type: ignore[arg-type]
        except OSError as exc:
            return FileOutcome(problem=f"{shown}: cannot read file ({(exc.strerror or str(exc)).lower()})")
        outcome = FileOutcome(result.hits + list(name_hits.values()), result.notes)
        sample = result.sample or Sample(io.BytesIO())  # type: ignore[arg-type]
        matched = [rule for rule in name_rules if rule.matches(path, sample.head)]
        reported = [hit for hit in outcome.hits if not hit.pragma]
        if matched:
            outcome.exposure = _file_rule_exposure(path, max(matched, key=lambda rule: rule.severity), sample)
        elif reported:
            worst = max(reported, key=lambda hit: hit.severity)
            outcome.exposure = Exposure(
                path,
                worst.rule_id,
                worst.title,
                worst.severity,
                worst.hashed_secret,
                worst.redacted,
                exact_pattern(path),
            )
        return outcome

    def _add_secret_findings(self, report: ScanReport, hits: list[Hit], prefix: str) -> None:
        target = report.targets[0].name
        for hit in hits:
            if hit.pragma:
                report.suppressed += 1
                continue
            report.findings.append(
                hit.finding(
                    "context",
                    target,
                    path=prefix + hit.path,
                    third_party=self.include_third_party and self.rules.is_third_party(hit.path),
                )
            )

    def fix(
        self, context_dir: Path, dockerfile: str | None = None, builder: str = DEFAULT_BUILDER
    ) -> FixResult:
        """Append the planned lines to the ignore file in force (created if missing), then re-walk
        to prove every sensitive file is now left out. User lines are never touched or reordered."""
        check = self.check(context_dir, dockerfile, builder)
        path = check.listing.root / check.ignore_target
        if path.is_symlink() or _outside(check.listing.root, path):
            raise InputError(f"cannot fix {path}: a symlink; --fix only appends to a file in the context")
        if check.listing.ignore_file is not None:
            try:
                parse_dockerignore(path.read_bytes().decode("utf-8", "surrogateescape"), check.ignore_target)
            except OSError as exc:
                raise InputError(f"cannot fix {path}: {(exc.strerror or str(exc)).lower()}") from None
            except InputError as exc:
                raise InputError(f"cannot fix {path}: {exc}") from None
        plan = plan_fix(check)
        if not plan.lines:
            return FixResult(path, [], check)
        created = not path.exists()
        _append_lines(path, ([FIX_HEADER] if plan.needs_header else []) + plan.lines)
        after = self.check(context_dir, dockerfile, builder)
        if after.exposures:
            left = ", ".join(printable_path(exposure.path) for exposure in after.exposures)
            raise ScanIncomplete(f"{path}: still sends {left} after the fix (please report this)")
        return FixResult(path, plan.lines, after, created)


_WORKER_SCANNER: ContextScanner | None = None


def _scan_file_in_worker(root: Path, path: str) -> FileOutcome:
    assert _WORKER_SCANNER is not None  # set by the parent before forking
    return _WORKER_SCANNER.scan_file(root, path)


def _size(path: Path) -> int:
    try:
        return path.lstat().st_size
    except OSError:
        return 0


def _append_lines(path: Path, lines: list[str]) -> None:
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


def _outside(root: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return True
    return False


def _file_rule_exposure(path: str, rule: FileRule, sample: Sample) -> Exposure:
    suggestion = rule.dockerignore or exact_pattern(path)
    return Exposure(
        path, rule.id, rule.title, rule.severity, sample.sha1.hexdigest(), sample.preview(), suggestion
    )


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


# --- coverage -----------------------------------------------------------------------------


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


def _coverage_findings(check: ContextCheck) -> None:
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


UNUSED_LIMIT = 100  # unused-line lints listed per ignore file; the rest are counted in a note


def _unused_findings(check: ContextCheck, rules: RuleSet) -> None:
    """Lines that exclude nothing, except defensive entries and hubguard's own suggestions
    (a line ``--fix`` added must not turn into a lint once the file it excluded is gone)."""
    ignore_file = check.prefix + check.ignore_target
    suggested = {go_clean(rule.dockerignore).lstrip("/") for rule in rules.file_rules if rule.dockerignore}
    keep = defensive_patterns() | suggested
    unused = unused_patterns(check.listing.patterns, check.listing, keep)
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


# --- pre-commit: staged files → the build contexts they land in ---------------------------


def is_dockerfile_name(name: str) -> bool:
    """``Dockerfile``, ``Dockerfile.dev`` or ``app.Dockerfile``, but not their ignore files."""
    if name.endswith(IGNORE_FILE_NAME):
        return False
    return name == "Dockerfile" or name.startswith("Dockerfile.") or name.endswith(".Dockerfile")


@dataclass(frozen=True)
class StagedContext:
    """A directory holding a Dockerfile, taken as the build context of that Dockerfile."""

    directory: Path
    dockerfile: str


def staged_contexts(files: Iterable[str], top: Path) -> dict[StagedContext, set[str] | None]:
    """Which contexts each changed path lands in, and what to judge there.

    A path belongs to every directory from its own up to ``top`` that holds a Dockerfile (a
    file in ``svc/`` is sent by ``svc/Dockerfile`` and by a top-level ``Dockerfile`` alike).
    The value is the set of context-relative paths to read, or None for the whole context:
    when a Dockerfile or ignore file changed, any sent file may be newly exposed.
    """
    top = Path(os.path.abspath(top))
    dockerfiles: dict[Path, list[str]] = {}
    plan: dict[StagedContext, set[str] | None] = {}
    for name in files:
        path = Path(os.path.abspath(name))
        directory = path.parent
        while directory == top or top in directory.parents:
            if directory not in dockerfiles:
                dockerfiles[directory] = _dockerfiles_in(directory)
            relative = path.relative_to(directory).as_posix()
            for dockerfile in dockerfiles[directory]:
                context = StagedContext(directory, dockerfile)
                changed_build_file = relative in (dockerfile, dockerfile + IGNORE_FILE_NAME, IGNORE_FILE_NAME)
                if changed_build_file or plan.get(context, set()) is None:
                    plan[context] = None
                else:
                    plan.setdefault(context, set()).add(relative)  # type: ignore[union-attr]
            directory = directory.parent
    return plan


def _dockerfiles_in(directory: Path) -> list[str]:
    try:
        return sorted(
            entry.name
            for entry in os.scandir(directory)
            if is_dockerfile_name(entry.name) and entry.is_file(follow_symlinks=False)
        )
    except OSError:  # a directory the commit deleted
        return []


def staged_paths(files: list[str]) -> tuple[list[str], Path]:
    """The paths to check and the repository top. With no ``files`` (a plain git hook) the
    index's changes are asked of git; deletions are always added, because pre-commit never
    passes a deleted file and a deleted .dockerignore exposes a whole context."""
    try:
        top = Path(_git("rev-parse", "--show-toplevel").strip())
    except InputError:
        if not files:
            raise
        return files, Path.cwd()  # outside git (pre-commit run --files in a plain directory)
    names = _git("diff", "--cached", "--name-only", "-z", *([] if not files else ["--diff-filter=D"]))
    changed = [str(top / name) for name in names.split("\0") if name]
    return [*files, *changed], top


def _git(*args: str) -> str:
    try:
        result = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
    except OSError as exc:
        raise InputError(f"--staged needs git: {exc.strerror}") from None
    if result.returncode != 0:
        message = (result.stderr.strip().splitlines() or ["failed"])[-1]
        raise InputError(f"--staged: git {args[0]}: {message}")
    return result.stdout


def check_staged(scanner: ContextScanner, files: list[str], builder: str = DEFAULT_BUILDER) -> ScanReport:
    """One report for every build context the staged changes touch, paths relative to here."""
    paths, top = staged_paths(files)
    report = ScanReport()
    here = Path.cwd()
    for context, only in sorted(staged_contexts(paths, top).items(), key=lambda item: str(item[0])):
        directory = Path(os.path.relpath(context.directory, here))
        name = str(directory) if context.dockerfile == "Dockerfile" else f"{directory} ({context.dockerfile})"
        prefix = "" if str(directory) == "." else directory.as_posix() + "/"
        check = scanner.check(directory, context.dockerfile, builder, only, name=name, prefix=prefix)
        report.merge(check.report)
    return report
