"""``hubguard context [DIR]``: one build context (or, with ``--staged``, each context the
changed files land in): secrets in what ``docker build`` would send, and ``.dockerignore``
coverage; ``--fix`` first appends the missing lines."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hubguard.commands.common import (
    apply_suppressions,
    archive_limits,
    emit,
    exit_code,
    load_checked_suppressions,
    report_rules,
    table_on_stdout,
)
from hubguard.errors import InputError
from hubguard.model import ScanReport

if TYPE_CHECKING:
    from hubguard.context import ContextScanner, FixResult


def run(args: argparse.Namespace) -> int:
    from hubguard.context import CONTEXT_RULES, ContextScanner
    from hubguard.detect.names import name_guard, scrub_report
    from hubguard.report.progress import ByteProgress

    scanner = ContextScanner(
        args.rules,
        include_third_party=args.include_third_party,
        exhaustive=args.exhaustive,
        coverage_only=args.coverage_only,
        limits=archive_limits(args),
        jobs=args.jobs,
    )
    suppressions = load_checked_suppressions(args.baseline, lambda: scanner.rules, args.ignore_file)
    with ByteProgress("reading the build context") as progress:
        if progress.on_terminal():
            scanner.progress = progress.update
        report = _context_report(scanner, args)
    apply_suppressions(suppressions, report)
    scrub_report(report, name_guard(scanner.rules))
    emit(report, args, report_rules(args.format, lambda: scanner.rules, CONTEXT_RULES))
    return exit_code(report, args.fail_on, problems_shown=table_on_stdout(args))


def _context_report(scanner: ContextScanner, args: argparse.Namespace) -> ScanReport:
    from hubguard.context import check_staged

    if args.staged:
        if args.fix or args.dockerfile:
            raise InputError("--staged finds each Dockerfile itself; use --fix and -f without --staged")
        return check_staged(scanner, args.paths, args.builder)
    if len(args.paths) > 1:
        raise InputError(f"one build context at a time, got {len(args.paths)} (files? add --staged)")
    context_dir = Path(args.paths[0] if args.paths else ".")
    dockerfile = None
    if args.dockerfile:
        if not Path(args.dockerfile).is_file():
            raise InputError(f"Dockerfile {args.dockerfile}: no such file")
        dockerfile = os.path.abspath(args.dockerfile)
    if args.fix:
        fixed = scanner.fix(context_dir, dockerfile, args.builder)
        print(f"hubguard: {fix_summary(fixed)}", file=sys.stderr)
        check = fixed.check
    else:
        check = scanner.check(context_dir, dockerfile, args.builder)
    report = check.report
    if not args.coverage_only:  # the Dockerfile's own mistakes (hubguard lint), minus overlaps
        from hubguard.lint import lint_context_dockerfile

        used = dockerfile or os.path.join(context_dir, "Dockerfile")
        shown = check.listing.dockerfile or used  # as the context report names it
        target = report.targets[0].name
        linted = lint_context_dockerfile(
            used, context_dir, args.rules, args.builder, shown=shown, target=target
        )
        report.findings.extend(linted.findings)
        report.problems.extend(linted.problems)
        report.suppressed += linted.suppressed
    if args.format in ("github", "sarif"):
        _paths_from_here(report, context_dir)
    return report


def fix_summary(fixed: FixResult) -> str:
    """What ``--fix`` did, in one line: ``added 1 line to ctx/.dockerignore: **/.env*``."""
    where = os.path.relpath(fixed.path)
    lines = f"{len(fixed.added)} line{'s' * (len(fixed.added) != 1)}"
    if fixed.created:
        return f"created {where} with {lines}: {', '.join(fixed.added)}"
    if fixed.added:
        return f"added {lines} to {where}: {', '.join(fixed.added)}"
    return f"{where} already leaves out every sensitive file; nothing added"


def _paths_from_here(report: ScanReport, context_dir: Path) -> None:
    """GitHub annotations and SARIF locations name repository files: a context's paths
    (relative to it in the report) become relative to the current directory. Fingerprints stay."""
    from dataclasses import replace

    prefix = Path(os.path.relpath(context_dir)).as_posix()
    if prefix == "." or prefix.startswith("../"):  # a context outside here keeps its own paths
        return
    report.findings = [
        replace(finding, path=f"{prefix}/{finding.path}")
        if finding.source in ("context", "dockerignore")
        else finding
        for finding in report.findings
    ]
