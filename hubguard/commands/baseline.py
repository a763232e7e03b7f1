"""``hubguard baseline IMAGE...``: record today's findings so later scans pass until a new
secret appears (exit 3, nothing written, if the scan is incomplete)."""

from __future__ import annotations

import argparse

from hubguard.commands.common import exit_code
from hubguard.errors import EXIT_CLEAN
from hubguard.model import Severity


def run(args: argparse.Namespace) -> int:
    from hubguard.report.progress import ByteProgress
    from hubguard.scan import Scanner, ScanOptions
    from hubguard.suppress import baseline_document, read_baseline, write_baseline

    previous = read_baseline(args.output) if args.update else None
    with ByteProgress("scanning layers") as progress:
        scanner = Scanner(ScanOptions(rules_dirs=args.rules), progress=progress.update)
        report = scanner.scan(args.targets)
    if report.problems:
        return exit_code(report, Severity.LOW)
    targets = [target.name for target in report.targets]
    write_baseline(args.output, baseline_document(report.findings, scanner.rules, previous, targets))
    print(f"hubguard: wrote {len(report.findings)} findings to {args.output}")
    return EXIT_CLEAN
