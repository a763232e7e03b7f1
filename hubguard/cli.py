"""The command line: parse arguments, call the library, print one clear line on errors.

Exit codes: 0 clean, 1 findings at or above ``--fail-on`` (or a refused push),
2 usage or input error, 3 the scan (or push) could not complete.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hubguard import __version__
from hubguard.errors import HubguardError
from hubguard.model import ScanReport, Severity

if TYPE_CHECKING:
    from hubguard.scan import ScanOptions

FORMATS = ("table", "json", "sarif", "github")  # hubguard.report renders each
EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit 2 like every other input error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"hubguard: error: {message} (see: {self.prog} --help)\n")


def _severity(value: str) -> Severity:
    try:
        return Severity.parse(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_detection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="table", help="report format")
    parser.add_argument("--output", "-o", type=Path, help="write the report to this file")
    parser.add_argument(
        "--fail-on",
        type=_severity,
        default=Severity.LOW,
        metavar="SEVERITY",
        help="exit 1 when a finding is at or above this severity (default: low, i.e. any)",
    )
    parser.add_argument(
        "--rules",
        type=Path,
        action="append",
        default=[],
        metavar="PATH",
        help="add a rule pack dir or file (hubguard pack or gitleaks config)",
    )
    parser.add_argument(
        "--exhaustive",
        action="store_true",
        help="pass every text line through every detector (slow; the prefilter's reference)",
    )
    parser.add_argument(
        "--include-third-party",
        action="store_true",
        help="also scan installed packages and vendored code (site-packages, node_modules, …)",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="PATH",
        help="detect-secrets baseline whose secrets are suppressed (default: .secrets.baseline found "
        "from the current directory upwards, like .hubguardignore)",
    )


def _add_cache_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the layer cache")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        help="layer cache directory (default: $HUBGUARD_CACHE_DIR or ~/.cache/hubguard)",
    )
    parser.add_argument("--jobs", "-j", type=int, default=0, help="worker processes (default: one per core)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hubguard", description="Stop secrets before docker push.")
    parser.add_argument("--version", action="version", version=f"hubguard {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    scan = commands.add_parser("scan", help="scan images for secrets")
    scan.add_argument(
        "targets",
        nargs="+",
        metavar="IMAGE",
        help="an image in the Docker engine, docker-archive:PATH, or oci:DIR",
    )
    scan.add_argument("--platform", help="os/arch[/variant] to pick from a multi-platform image")
    scan.add_argument("--all-platforms", action="store_true", help="scan every platform of an index")
    _add_detection_options(scan)
    _add_cache_options(scan)
    scan.set_defaults(run=_run_scan)

    baseline = commands.add_parser("baseline", help="write a detect-secrets baseline of the findings")
    baseline.add_argument("targets", nargs="+", metavar="IMAGE", help="images, as for scan")
    baseline.add_argument("--output", "-o", type=Path, default=Path(".secrets.baseline"), metavar="PATH")
    baseline.add_argument("--update", action="store_true", help="keep the entries already in --output")
    baseline.add_argument("--rules", type=Path, action="append", default=[], metavar="DIR")
    baseline.set_defaults(run=_run_baseline)

    rules = commands.add_parser("rules", help="list the rules in play")
    rules.add_argument("--rules", type=Path, action="append", default=[], metavar="DIR")
    rules.set_defaults(run=_run_rules)

    push = commands.add_parser("push", help="scan an image, then docker push it unless it leaks")
    push.add_argument("target", metavar="NAME[:TAG]", help="what to push, as for docker push")
    push.add_argument("--all-tags", "-a", action="store_true", help="push every local tag of NAME")
    push.add_argument("--quiet", "-q", action="store_true", help="passed to docker push")
    push.add_argument("--platform", help="passed to docker push, and the platform scanned")
    push.add_argument(
        "--disable-content-trust", nargs="?", const="true", metavar="BOOL", help="passed to docker push"
    )
    push.add_argument("--format", choices=FORMATS, default="table", help="format of the findings shown")
    push.add_argument("--output", "-o", type=Path, help="write the findings to this file")
    push.add_argument("--rules", type=Path, action="append", default=[], metavar="DIR")
    push.add_argument("--exhaustive", action="store_true", help="as for scan")
    push.add_argument("--include-third-party", action="store_true", help="as for scan (warns, never blocks)")
    push.add_argument("--baseline", type=Path, metavar="PATH", help="as for scan")
    _add_cache_options(push)
    push.set_defaults(run=_run_push)

    install_plugin = commands.add_parser(
        "install-plugin", help="make `docker hubguard` work (link the CLI plugin into cli-plugins/)"
    )
    install_plugin.add_argument(
        "--docker-config",
        type=Path,
        metavar="DIR",
        help="docker config dir (default: $DOCKER_CONFIG or ~/.docker)",
    )
    install_plugin.set_defaults(run=_run_install_plugin)

    cache = commands.add_parser("cache", help="manage the layer cache")
    cache.add_argument("action", choices=["clear", "dir"])
    cache.add_argument("--cache-dir", type=Path)
    cache.set_defaults(run=_run_cache)

    context = commands.add_parser(
        "context", help="scan what docker build would send, and check .dockerignore covers secrets"
    )
    context.add_argument(
        "paths",
        nargs="*",
        metavar="DIR",
        help="the build context (default: .); with --staged, the changed files (what pre-commit passes)",
    )
    context.add_argument(
        "-f",
        "--file",
        dest="dockerfile",
        metavar="DOCKERFILE",
        help="the Dockerfile, relative to the current directory as in docker build (default: DIR/Dockerfile)",
    )
    context.add_argument(
        "--builder",
        choices=("buildkit", "buildkit-20.10", "classic"),  # hubguard.dockerignore.BUILDERS
        default="buildkit",
        help="whose .dockerignore semantics to follow (default: buildkit; see docs/context.md)",
    )
    _add_detection_options(context)
    context.add_argument(
        "--fix", action="store_true", help="append the missing lines to the ignore file in force"
    )
    context.add_argument(
        "--coverage-only",
        action="store_true",
        help="only check that credential files are excluded (reads no other file: fast)",
    )
    context.add_argument(
        "--staged",
        action="store_true",
        help="pre-commit mode: check the build contexts that the given (or git's staged) files land in",
    )
    context.set_defaults(run=_run_context)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if getattr(args, "rules", None) is not None:
            from hubguard.config import configured_rule_packs

            args.rules = [*configured_rule_packs(), *args.rules]
        return args.run(args)
    except HubguardError as exc:
        print(f"hubguard: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("hubguard: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_USAGE
    except Exception as exc:  # a bug: still one line, still fail closed (nothing pushed)
        if os.environ.get("HUBGUARD_DEBUG"):
            raise
        print(
            f"hubguard: internal error: {type(exc).__name__}: {exc} (set HUBGUARD_DEBUG=1 for details)",
            file=sys.stderr,
        )
        return EXIT_INCOMPLETE


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
    )


def _run_scan(args: argparse.Namespace) -> int:
    from hubguard.report.progress import LayerProgress
    from hubguard.scan import Scanner
    from hubguard.suppress import load_suppressions

    with LayerProgress() as progress:
        scanner = Scanner(scan_options(args), progress=progress.update)
        report = scanner.scan(args.targets)
    load_suppressions(Path.cwd(), args.baseline).apply(report)
    emit(report, args, scanner.rules.by_id() if args.format == "sarif" else None)
    return exit_code(report, args.fail_on)


def _run_baseline(args: argparse.Namespace) -> int:
    """Record today's findings so later scans pass until a new secret appears (exit 3 if incomplete)."""
    from hubguard.scan import Scanner, ScanOptions
    from hubguard.suppress import baseline_document, read_baseline, write_baseline

    previous = read_baseline(args.output) if args.update else None
    scanner = Scanner(ScanOptions(rules_dirs=args.rules))
    report = scanner.scan(args.targets)
    if report.problems:
        return exit_code(report, Severity.LOW)
    write_baseline(args.output, baseline_document(report.findings, scanner.rules, previous))
    print(f"hubguard: wrote {len(report.findings)} findings to {args.output}")
    return EXIT_CLEAN


def _run_push(args: argparse.Namespace) -> int:
    """Scan, decide, then docker push or refuse (0 pushed, 1 refused, 3 scan or push failed)."""
    from hubguard.push import PushRequest, guarded_push

    request = PushRequest(
        target=args.target,
        all_tags=args.all_tags,
        quiet=args.quiet,
        platform=args.platform,
        disable_content_trust=args.disable_content_trust,
        scan_options=scan_options(args),
        baseline=args.baseline,
        report_format=args.format,
        report_output=args.output,
    )
    return guarded_push(request)


def _run_context(args: argparse.Namespace) -> int:
    """One build context (or, with --staged, each context the changed files land in): secrets in
    what is sent, and .dockerignore coverage; ``--fix`` first appends the missing lines."""
    from hubguard.context import CONTEXT_RULES, ContextScanner, check_staged
    from hubguard.errors import InputError
    from hubguard.suppress import load_suppressions

    scanner = ContextScanner(
        args.rules,
        include_third_party=args.include_third_party,
        exhaustive=args.exhaustive,
        coverage_only=args.coverage_only,
    )
    if args.staged:
        if args.fix or args.dockerfile:
            raise InputError("--staged finds each Dockerfile itself; use --fix and -f without --staged")
        report = check_staged(scanner, args.paths, args.builder)
    else:
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
            added = ", ".join(fixed.added) if fixed.added else "nothing to add"
            print(f"hubguard: {os.path.relpath(fixed.path)}: {added}", file=sys.stderr)
            check = fixed.check
        else:
            check = scanner.check(context_dir, dockerfile, args.builder)
        report = check.report
    load_suppressions(Path.cwd(), args.baseline).apply(report)
    emit(report, args, {**scanner.rules.by_id(), **CONTEXT_RULES} if args.format == "sarif" else None)
    return exit_code(report, args.fail_on)


def _run_install_plugin(args: argparse.Namespace) -> int:
    from hubguard.plugin import install_plugin

    path = install_plugin(args.docker_config)
    print(f"hubguard: installed the docker CLI plugin at {path}; try: docker hubguard push --help")
    return EXIT_CLEAN


def emit(report: ScanReport, args: argparse.Namespace, rules: dict | None) -> None:
    """Render the report to ``--output`` or stdout."""
    from hubguard.report import render

    text = render(report, args.format, rules=rules, color=False if args.output else None)
    if args.output:
        try:
            args.output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise HubguardError(f"cannot write {args.output}: {exc.strerror}") from None
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


def exit_code(report: ScanReport, fail_on: Severity) -> int:
    if report.problems:
        for problem in report.problems:
            print(f"hubguard: scan incomplete: {problem}", file=sys.stderr)
        return EXIT_INCOMPLETE
    if any(f.severity >= fail_on and not f.third_party for f in report.findings):
        return EXIT_FINDINGS
    return EXIT_CLEAN


def _run_rules(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from hubguard.detect.rules import load_rules

    rules = load_rules(args.rules)
    table = Table("id", "kind", "severity", "title", "pack", box=None)
    for rule in sorted(rules.token_rules, key=lambda r: r.id):
        table.add_row(rule.id, "token", rule.severity.label, rule.title, rule.pack)
    for rule in sorted(rules.file_rules, key=lambda r: r.id):
        table.add_row(rule.id, "file", rule.severity.label, rule.title, rule.pack)
    for plugin in rules.plugins:
        table.add_row(plugin.id, "plugin", plugin.severity.label, plugin.name, "detect-secrets")
    Console(width=None if sys.stdout.isatty() else 200).print(table)
    return EXIT_CLEAN


def _run_cache(args: argparse.Namespace) -> int:
    from hubguard import cache

    root = args.cache_dir or cache.default_cache_dir()
    if args.action == "dir":
        print(root)
    else:
        print(f"removed {cache.clear(root)} cache entries from {root}")
    return EXIT_CLEAN
