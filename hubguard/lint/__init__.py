"""``hubguard lint``: secret-handling mistakes in Dockerfiles and CI build steps, found before
anything is built.

One interface: :func:`lint` takes paths (``-`` for stdin) and returns a :class:`ScanReport`
that every report format renders. Dockerfiles go through :mod:`.dockerfile` (parser) and
:mod:`.rules` (checks); workflows and Makefiles through :mod:`.ci`. The rule catalogue is
:data:`LINT_RULES`. A finding is silenced in place with a comment
``# hubguard: ignore=RULE[,RULE] reason`` on the line before (Dockerfiles: before the
instruction or inside it); the reason is required.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from hubguard.cache import PACKS_STORE, PREFILTER_STORE, default_cache_dir
from hubguard.context import ContextScanner, is_dockerfile_name
from hubguard.detect.engine import Detector
from hubguard.detect.rules import RuleSet, load_rules
from hubguard.dockerignore import DEFAULT_BUILDER
from hubguard.errors import InputError
from hubguard.lint import catalog
from hubguard.lint.catalog import LINT_RULES, LintRule
from hubguard.lint.ci import WorkflowError, lint_shell_lines, lint_workflow
from hubguard.lint.dockerfile import PRAGMA, Dockerfile, DockerfileError, parse
from hubguard.lint.names import looks_secret, secret_words
from hubguard.lint.rules import DockerfileChecker, Issue
from hubguard.model import Finding, ScanReport, Target, fingerprint, hash_secret

__all__ = ["LINT_RULES", "LintRule", "Linter", "discover", "fix_hints", "lint"]

STDIN = "-"
MAKEFILE = re.compile(r"(?:GNUmakefile|[Mm]akefile|.+\.mk)$")
WORKFLOW = re.compile(r"(?:^|/)\.github/workflows/[^/]+\.ya?ml$")


def lint(paths: Sequence[str], rules_dirs: Iterable[Path] = ()) -> ScanReport:
    """Lint each path (a Dockerfile, a workflow, a Makefile, or ``-`` for a Dockerfile on stdin)."""
    return Linter(rules_dirs).lint(paths)


def kind_of(path: str) -> str:
    """``dockerfile``, ``workflow`` or ``makefile``, by name (a workflow by its directory)."""
    posix = Path(path).as_posix()
    name = posix.rsplit("/", 1)[-1]
    if WORKFLOW.search(posix if posix.startswith("/") else "/" + posix):
        return "workflow"
    if MAKEFILE.fullmatch(name):
        return "makefile"
    return "dockerfile"


def discover(root: Path) -> list[str]:
    """``Dockerfile``, ``*.Dockerfile``, ``Dockerfile.*``, workflows and Makefiles under ``root``:
    git's tracked and untracked-but-not-ignored files when ``root`` is in a repository, else a
    walk that skips ``.git``."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root,
            capture_output=True,
            check=True,
        ).stdout.decode("utf-8", "surrogateescape")
        names = [name for name in listed.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        names = []
        for directory, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d != ".git"]
            names += [os.path.relpath(os.path.join(directory, f), root) for f in filenames]
    found = []
    for name in sorted(set(names)):
        base = name.rsplit("/", 1)[-1]
        if is_dockerfile_name(base) or kind_of(name) != "dockerfile":
            path = os.path.join(root, name) if str(root) != "." else name
            if os.path.isfile(path):
                found.append(path)
    return found


@dataclass
class _Pending:
    """A file's issues with what is needed to turn them into findings."""

    path: str
    source: str
    issues: list[Issue]
    pragma_at: dict[int, list[tuple[tuple[str, ...], str, int]]]  # line -> (rules, reason, pragma line)
    target: str = ""  # the report target the findings belong to (default: the file itself)


class Linter:
    """Rules and detector loaded once for every file."""

    def __init__(
        self,
        rules_dirs: Iterable[Path] = (),
        *,
        enabled: Iterable[str] = tuple(LINT_RULES),
        builder: str = DEFAULT_BUILDER,
    ) -> None:
        self.rules_dirs = tuple(rules_dirs)
        self.rules: RuleSet = load_rules(self.rules_dirs, default_cache_dir() / PACKS_STORE)
        self.words = secret_words(self.rules)
        self.enabled = frozenset(enabled)
        self.builder = builder

    @cached_property
    def detector(self) -> Detector:
        return Detector(self.rules, store=default_cache_dir() / PREFILTER_STORE)

    @cached_property
    def context_scanner(self) -> ContextScanner:
        """The ``context`` command's coverage check, built on first use (only COPY needs it)."""
        return ContextScanner(self.rules_dirs, coverage_only=True)

    def looks_secret(self, name: str) -> bool:
        return looks_secret(name, self.words)

    def lint(self, paths: Sequence[str]) -> ScanReport:
        report = ScanReport()
        for path in paths:
            self.lint_one(path, report)
        return report

    def lint_one(
        self,
        path: str,
        report: ScanReport,
        *,
        context_dir: Path | None = None,
        shown: str | None = None,
        target: str | None = None,
    ) -> None:
        """Lint one file into ``report``; unreadable or unparsable input is a problem (exit 3).
        ``shown`` and ``target`` name the file and its target as another report (``context``)
        already does; by default the file is its own target, named as given."""
        kind = kind_of(path) if path != STDIN else "dockerfile"
        if target is None:
            report.targets.append(Target("dockerfile" if kind == "dockerfile" else "ci", path))
        try:
            text = (
                sys.stdin.read()
                if path == STDIN
                else Path(path).read_bytes().decode("utf-8", "surrogateescape")
            )
        except OSError as exc:
            report.problems.append(f"{path}: cannot read ({(exc.strerror or str(exc)).lower()})")
            return
        try:
            if kind == "dockerfile":
                pending = self._dockerfile(path, text, context_dir, report)
            else:
                pending = self._ci(path, text, kind)
        except (DockerfileError, WorkflowError) as exc:
            report.problems.append(f"{path}: {exc}" if not str(exc).startswith(path) else str(exc))
            return
        pending.path = shown or path
        pending.target = target or pending.path
        self._findings(pending, report)

    def _dockerfile(self, path: str, text: str, context_dir: Path | None, report: ScanReport) -> _Pending:
        dockerfile = parse(text, path)
        if context_dir is None and path != STDIN:
            context_dir = Path(path).parent
        if path == STDIN and self.enabled & {catalog.CONTEXT_COPY, catalog.CREDENTIAL_COPY}:
            report.notes.append(
                "-: Dockerfile from stdin has no build context; files are judged by name only"
            )
        checker = DockerfileChecker(
            dockerfile,
            self.rules,
            self.words,
            self.detector if catalog.LITERAL_SECRET in self.enabled else None,
            context_dir,
            self._exposures(context_dir, path) if context_dir is not None else None,
            self.enabled,
        )
        issues = checker.run()
        return _Pending(path, "dockerfile", issues, _dockerfile_pragmas(dockerfile))

    def _exposures(self, context_dir: Path, dockerfile: str):
        """Whether an ignore file is in force, and the sent sensitive files (path, rule title):
        the ``context`` command's coverage check, run once, only if a COPY needs it."""
        answer: list[tuple[bool, list[tuple[str, str]]]] = []

        def exposures() -> tuple[bool, list[tuple[str, str]]]:
            if not answer:
                check = self.context_scanner.check(context_dir, os.path.abspath(dockerfile), self.builder)
                exposed = sorted((e.path, e.title) for e in check.exposures)
                answer.append((check.listing.ignore_file is not None, exposed))
            return answer[0]

        return exposures

    def _ci(self, path: str, text: str, kind: str) -> _Pending:
        lines = text.split("\n")
        if catalog.CI_BUILD_ARG not in self.enabled:
            issues: list[Issue] = []
        elif kind == "workflow":
            issues = lint_workflow(text, self.looks_secret)
        else:
            issues = lint_shell_lines(lines, self.looks_secret)
        pragma_at: dict[int, list[tuple[tuple[str, ...], str, int]]] = {}
        for number, line in enumerate(lines, start=1):
            match = PRAGMA.search(line[line.find("#") :]) if "#" in line else None
            if match:
                entry = (tuple(filter(None, match.group(1).split(","))), match.group(2), number)
                for target in (number, number + 1):
                    pragma_at.setdefault(target, []).append(entry)
        return _Pending(path, "ci", issues, pragma_at)

    def _findings(self, pending: _Pending, report: ScanReport) -> None:
        used: set[int] = set()
        for issue in sorted(pending.issues, key=lambda i: (i.line, i.rule_id, i.key)):
            if issue.pragma:
                report.suppressed += 1
                continue
            pragma = next((p for p in pending.pragma_at.get(issue.line, []) if issue.rule_id in p[0]), None)
            if pragma is not None and pragma[1]:
                report.suppressed += 1
                used.add(pragma[2])
                continue
            if pragma is not None:
                report.notes.append(
                    f"{pending.path}:{pragma[2]}: hubguard: ignore={issue.rule_id} needs a reason after it"
                )
            rule = LINT_RULES[issue.rule_id]
            report.findings.append(
                Finding(
                    rule_id=issue.rule_id,
                    title=issue.title,
                    severity=issue.severity or rule.severity,
                    source=pending.source,
                    path=pending.path,
                    line=issue.line,
                    hashed_secret=issue.hashed_secret,
                    redacted=issue.redacted,
                    target=pending.target,
                    fingerprint=fingerprint(issue.rule_id, hash_secret(issue.key), pending.path),
                )
            )
        for entries in pending.pragma_at.values():
            for rules, _, line in entries:
                for rule_id in rules:
                    if rule_id not in LINT_RULES:
                        note = f"{pending.path}:{line}: hubguard: ignore={rule_id}: no such lint rule"
                        if note not in report.notes:
                            report.notes.append(note)


def _dockerfile_pragmas(dockerfile: Dockerfile) -> dict[int, list[tuple[tuple[str, ...], str, int]]]:
    """Each line an instruction (and its heredocs) spans, mapped to the pragmas before or in it."""
    pragma_at: dict[int, list[tuple[tuple[str, ...], str, int]]] = {}
    for instruction in dockerfile.instructions:
        entries = [(p.rules, p.reason, p.line) for p in instruction.pragmas]
        for number, text in instruction.parts:
            match = PRAGMA.search(text[text.find("#") :]) if "#" in text else None
            if match:
                entries.append((tuple(filter(None, match.group(1).split(","))), match.group(2), number))
        if entries:
            for line in range(instruction.line, instruction.end_line + 1):
                pragma_at[line] = entries
    return pragma_at


def lint_context_dockerfile(
    dockerfile: str,
    context_dir: Path,
    rules_dirs: Iterable[Path] = (),
    builder: str = DEFAULT_BUILDER,
    *,
    shown: str | None = None,
    target: str | None = None,
) -> ScanReport:
    """What ``hubguard context`` adds: the Dockerfile's own mistakes, minus the two questions the
    context scan already answers (secrets in the Dockerfile's text, and coverage of COPY .).
    ``shown`` / ``target`` label the findings as the context report labels its own."""
    enabled = set(LINT_RULES) - {catalog.LITERAL_SECRET, catalog.CONTEXT_COPY, catalog.CI_BUILD_ARG}
    linter = Linter(rules_dirs, enabled=enabled, builder=builder)
    report = ScanReport()
    if os.path.isfile(dockerfile):
        linter.lint_one(dockerfile, report, context_dir=context_dir, shown=shown, target=target)
    return report


def fix_hints(report: ScanReport, width: int) -> str:
    """One "how to fix" paragraph per lint rule with findings, wrapped to ``width``: the table
    report says what is wrong, this says what to write instead."""
    rule_ids = sorted({finding.rule_id for finding in report.findings} & set(LINT_RULES))
    return "".join(
        textwrap.fill(
            f"fix {rule_id}: {LINT_RULES[rule_id].fix} ({LINT_RULES[rule_id].anchor})",
            width,
            subsequent_indent="  ",
            break_on_hyphens=False,
        )
        + "\n"
        for rule_id in rule_ids
    )


def lint_targets(paths: Sequence[str]) -> list[str]:
    """What ``hubguard lint PATH...`` reads: each named file (it must exist: a typo must not
    lint nothing and pass), and what ``discover`` finds in each named directory (default: .)."""
    found = [
        target
        for path in paths or ["."]
        for target in (discover(Path(path)) if os.path.isdir(path) else [path])
    ]
    require_files(found)
    return found


def require_files(paths: Sequence[str]) -> None:
    """Named paths must exist: a typo must not lint nothing and pass."""
    for path in paths:
        if path != STDIN and not os.path.isfile(path):
            raise InputError(f"{path}: no such file")
