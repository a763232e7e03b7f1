"""``hubguard scan IMAGE...``: every layer, the config and the history, reported."""

from __future__ import annotations

import argparse

from hubguard.commands.common import (
    apply_suppressions,
    emit,
    exit_code,
    load_checked_suppressions,
    report_rules,
    scan_options,
    table_on_stdout,
)


def run(args: argparse.Namespace) -> int:
    from hubguard.detect.names import name_guard, scrub_report
    from hubguard.report.progress import ByteProgress
    from hubguard.scan import Scanner

    with ByteProgress("scanning layers") as progress:
        scanner = Scanner(scan_options(args), progress=progress.update)
        suppressions = load_checked_suppressions(args.baseline, lambda: scanner.rules, args.ignore_file)
        report = scanner.scan(args.targets)
    apply_suppressions(suppressions, report)
    scrub_report(report, name_guard(scanner.rules))
    emit(report, args, report_rules(args.format, lambda: scanner.rules))
    return exit_code(report, args.fail_on, problems_shown=table_on_stdout(args))
