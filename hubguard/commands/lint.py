"""``hubguard lint [PATH...]``: Dockerfiles and CI files (0 clean, 1 findings, 2 a named file
is missing, 3 a file could not be read or parsed)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hubguard.commands.common import emit, emit_text, exit_code
from hubguard.errors import EXIT_CLEAN


def run(args: argparse.Namespace) -> int:
    from hubguard.lint import LINT_RULES, Linter, fix_hints, lint_targets
    from hubguard.report.table import DEFAULT_WIDTH, output_width
    from hubguard.suppress import load_suppressions

    paths = lint_targets(args.paths)
    if not paths:
        print("hubguard: no Dockerfile, workflow or Makefile found", file=sys.stderr)
        return EXIT_CLEAN
    report = Linter(args.rules).lint(paths)
    load_suppressions(Path.cwd(), args.baseline).apply(report)
    emit(report, args, LINT_RULES if args.format == "sarif" else None)
    if args.format == "table" and report.findings:
        emit_text(fix_hints(report, DEFAULT_WIDTH if args.output else output_width()), args)
    return exit_code(report, args.fail_on)
