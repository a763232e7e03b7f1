"""What several commands share: scanner settings from the options, the suppressions checked
before a scan, the report's way out, and the exit code of a finished scan."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from hubguard.errors import EXIT_CLEAN, EXIT_FINDINGS, EXIT_INCOMPLETE, HubguardError
from hubguard.model import ScanReport, Severity

if TYPE_CHECKING:
    from hubguard.detect.content import Limits
    from hubguard.detect.rules import RuleSet
    from hubguard.scan import ScanOptions
    from hubguard.suppress import Suppressions

COLOR_CHOICES = {"auto": None, "always": True, "never": False}


def archive_limits(args: argparse.Namespace) -> Limits:
    from hubguard.detect.content import MIB, Limits

    if min(args.archive_depth, args.archive_budget, args.max_archive_size) < 0:
        raise HubguardError("archive limits must not be negative")
    return Limits(args.max_archive_size * MIB, args.archive_depth, args.archive_budget * MIB)


def scan_options(args: argparse.Namespace) -> ScanOptions:
    """The scanner settings shared by ``scan`` and ``push``."""
    from hubguard.scan import ScanOptions

    return ScanOptions(
        rules_dirs=args.rules,
        exhaustive=args.exhaustive,
        include_third_party=args.include_third_party,
        platform=args.platform,
        all_platforms=getattr(args, "all_platforms", False),
        use_cache=not args.no_cache,
        cache_dir=args.cache_dir,
        jobs=args.jobs,
        base=args.base,
        failing_owners=args.fail_owners,
        limits=archive_limits(args),
        max_per_file=getattr(args, "max_per_file", 20),  # push has no --max-per-file: the default
    )


def load_checked_suppressions(
    baseline: Path | None, rules: Callable[[], RuleSet], ignore_file: Path | None = None
) -> Suppressions:
    """``.hubguardignore`` and the baseline, read before the scan so a mistake in them costs
    no scan; a ``rule:`` entry must name a rule in play (image or build-context rule). The
    rules are loaded only when there is a ``rule:`` entry: a warm scan needs none."""
    from hubguard.suppress import load_suppressions

    suppressions = load_suppressions(Path.cwd(), baseline, ignore_file)
    if not any(entry.kind == "rule" for entry in suppressions.entries):
        return suppressions
    ruleset = rules()
    known = {rule.id for rule in (*ruleset.token_rules, *ruleset.file_rules, *ruleset.plugins)}
    if any(entry.kind == "rule" and entry.value not in known for entry in suppressions.entries):
        from hubguard.context import CONTEXT_RULES

        known |= set(CONTEXT_RULES)
    suppressions.check_rule_ids(known)
    return suppressions


def apply_suppressions(suppressions: Suppressions, report: ScanReport) -> None:
    suppressions.apply(report)
    for warning in suppressions.warnings:
        print(f"hubguard: warning: {warning}", file=sys.stderr)


def report_rules(fmt: str, rules: Callable[[], RuleSet], extra: dict | None = None) -> dict | None:
    """id → rule for the formats that show rule text (SARIF's metadata, the table's advice);
    the others never load the rules."""
    if fmt == "sarif":
        return {**rules().by_id(), **(extra or {})}
    if fmt == "table":
        ruleset = rules()
        return {**{plugin.id: plugin for plugin in ruleset.plugins}, **ruleset.by_id(), **(extra or {})}
    return None


def emit(report: ScanReport, args: argparse.Namespace, rules: dict | None) -> None:
    """The report to stdout, or to ``--output`` with the summary line on stdout."""
    from hubguard.report.output import emit as emit_report

    color = COLOR_CHOICES[getattr(args, "color", "auto")]
    emit_report(report, args.format, args.output, rules=rules, color=color)


def emit_text(text: str, args: argparse.Namespace) -> None:
    """Append plain text after the report (to ``--output`` or stdout)."""
    if args.output:
        try:
            with open(args.output, "a", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            raise HubguardError(f"cannot write {args.output}: {exc.strerror}") from None
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


def table_on_stdout(args: argparse.Namespace) -> bool:
    return args.format == "table" and not args.output


def exit_code(report: ScanReport, fail_on: Severity, problems_shown: bool = False) -> int:
    """0, 1 or 3; the problems go to stderr unless the report on the terminal already said them."""
    if report.problems:
        if not problems_shown:
            for problem in report.problems:
                print(f"hubguard: scan incomplete: {problem}", file=sys.stderr)
        return EXIT_INCOMPLETE
    if report.blocking(fail_on):
        return EXIT_FINDINGS
    return EXIT_CLEAN
