"""Scan a build context: the secrets ``docker build`` would send, and the sensitive files it
sends that the .dockerignore should keep out (:mod:`hubguard.context.coverage`).

One walk (:func:`hubguard.sources.context.walk_context`, so exactly the files the builder
receives); every sent regular file goes through :func:`hubguard.detect.content.inspect_file`,
the function the image scanner calls per layer file, so context and image reports agree.

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
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from itertools import repeat
from pathlib import Path

from hubguard.cache import PACKS_STORE, PREFILTER_STORE, default_cache_dir
from hubguard.context.coverage import (
    FIX_HEADER,
    ContextCheck,
    Exposure,
    append_lines,
    coverage_findings,
    exact_pattern,
    file_rule_exposure,
    outside,
    plan_fix,
    printable_path,
    unused_findings,
)
from hubguard.detect.content import DEFAULT_LIMITS, FileResult, Limits, Sample, inspect_file
from hubguard.detect.engine import Detector, Hit
from hubguard.detect.names import name_guard
from hubguard.detect.rules import RuleSet, load_rules
from hubguard.dockerignore import DEFAULT_BUILDER
from hubguard.dockerignore.pattern import parse_dockerignore
from hubguard.errors import InputError, ScanIncomplete
from hubguard.model import ScanReport, Target
from hubguard.sources.context import walk_context
from hubguard.workers import inherited, job_count, run_forked

PARALLEL_MIN_FILES = 1000  # below this, starting worker processes costs more than it saves
PARALLEL_CHUNK = 256


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
        jobs: int = 0,
    ) -> None:
        self.rules: RuleSet = load_rules(tuple(rules_dirs), default_cache_dir() / PACKS_STORE)
        self.exhaustive = exhaustive
        self.include_third_party = include_third_party
        self.coverage_only = coverage_only
        self.limits = limits
        self.jobs = jobs  # worker processes; 0 = one per core (hubguard.workers.job_count)
        # ``progress(done_bytes, total_bytes)`` as sent files are read; set by a caller that
        # shows it (the sizes cost a stat per file, so only then).
        self.progress: Callable[[int, int], None] | None = None

    @cached_property
    def detector(self) -> Detector:
        """Built on first use: a coverage-only check never needs it. Its compiled prefilter is
        kept in the cache directory: a pre-commit hook would otherwise compile it every commit."""
        return Detector(self.rules, exhaustive=self.exhaustive, store=default_cache_dir() / PREFILTER_STORE)

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
            for hit in outcome.hits:
                third_party = self.include_third_party and self.rules.is_third_party(hit.path)
                report.add_hit(hit, "context", target.name, path=prefix + hit.path, third_party=third_party)
            problem = None if outcome.problem is None else prefix + outcome.problem
            if problem is not None and problem not in report.problems:
                report.problems.append(problem)  # the walk may have seen it already
            if outcome.exposure is not None and path not in build_files:
                third_party = self.include_third_party and self.rules.is_third_party(path)
                check.exposures.append(replace(outcome.exposure, third_party=third_party))
        coverage_findings(check)
        if only is None and listing.ignore_file and listing.patterns:
            unused_findings(check, self.rules)
        return check

    def _scan_files(self, root: Path, paths: list[str]) -> list[FileOutcome]:
        """In order; in forked worker processes (``jobs``, by default one per core) when there
        are many files."""
        jobs = job_count(self.jobs) if len(paths) >= PARALLEL_MIN_FILES else 1
        if jobs > 1 and not self.coverage_only:
            self.detector  # noqa: B018 - compiled before the fork, not once per worker
        with run_forked(self, jobs) as pool:  # the workers inherit this scanner: rules compile once
            if pool is None:
                return self._counted(root, paths, (self.scan_file(root, path) for path in paths))
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
                    result = inspect_file(self.detector, shown, size, handle, self.limits, hashing=True)  # type: ignore[arg-type]
        except OSError as exc:
            return FileOutcome(problem=f"{shown}: cannot read file ({(exc.strerror or str(exc)).lower()})")
        outcome = FileOutcome(result.hits + list(name_hits.values()), result.notes)
        sample = result.sample or Sample(io.BytesIO())  # type: ignore[arg-type]
        matched = [rule for rule in name_rules if rule.matches(path, sample.head)]
        reported = [hit for hit in outcome.hits if not hit.pragma]
        if matched:
            outcome.exposure = file_rule_exposure(path, max(matched, key=lambda rule: rule.severity), sample)
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

    def fix(
        self, context_dir: Path, dockerfile: str | None = None, builder: str = DEFAULT_BUILDER
    ) -> FixResult:
        """Append the planned lines to the ignore file in force (created if missing), then re-walk
        to prove every sensitive file is now left out. User lines are never touched or reordered."""
        check = self.check(context_dir, dockerfile, builder)
        path = check.listing.root / check.ignore_target
        if path.is_symlink() or outside(check.listing.root, path):
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
        append_lines(path, ([FIX_HEADER] if plan.needs_header else []) + plan.lines)
        after = self.check(context_dir, dockerfile, builder)
        if after.exposures:
            left = ", ".join(printable_path(exposure.path) for exposure in after.exposures)
            raise ScanIncomplete(f"{path}: still sends {left} after the fix (please report this)")
        return FixResult(path, plan.lines, after, created)


def _scan_file_in_worker(root: Path, path: str) -> FileOutcome:
    scanner: ContextScanner = inherited()
    return scanner.scan_file(root, path)


def _size(path: Path) -> int:
    try:
        return path.lstat().st_size
    except OSError:
        return 0
