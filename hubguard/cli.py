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
    from hubguard.detect.content import Limits
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
        "--rules", type=Path, action="append", default=[], metavar="DIR", help="add a rule pack dir"
    )
    parser.add_argument(
        "--exhaustive",
        action="store_true",
        help="pass every text line through every detector (slow; the prefilter's reference)",
    )
    parser.add_argument(
        "--include-third-party",
        action="store_true",
        help="apply every detector to distro and package files too (findings still marked, not failing)",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="PATH",
        help="detect-secrets baseline whose secrets are suppressed (default: .secrets.baseline at the "
        "top of the git checkout, else in the current directory, like .hubguardignore)",
    )
    parser.add_argument(
        "--ignore-file",
        type=Path,
        metavar="PATH",
        help="a .hubguardignore to apply besides the project's own and the user's",
    )


def _add_limit_options(parser: argparse.ArgumentParser) -> None:
    """How far into archives; each limit that stops reading leaves a note in the report."""
    parser.add_argument(
        "--archive-depth",
        type=int,
        default=3,
        metavar="N",
        help="open archives in archives N levels deep (default 3)",
    )
    parser.add_argument(
        "--archive-budget",
        type=int,
        default=256,
        metavar="MIB",
        help="decompressed MiB read from the members of one archive, all levels (default 256)",
    )
    parser.add_argument(
        "--max-archive-size",
        type=int,
        default=64,
        metavar="MIB",
        help="a larger archive file is scanned as plain bytes, not opened (default 64)",
    )


def archive_limits(args: argparse.Namespace) -> Limits:
    from hubguard.detect.content import MIB, Limits

    if min(args.archive_depth, args.archive_budget, args.max_archive_size) < 0:
        raise HubguardError("archive limits must not be negative")
    return Limits(args.max_archive_size * MIB, args.archive_depth, args.archive_budget * MIB)


def _add_owner_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base",
        metavar="IMAGE",
        help="the base image: findings in the layers it shares are reported as inherited "
        "(default: the image named by the org.opencontainers.image.base.name label, if in the engine)",
    )
    parser.add_argument(
        "--fail-owners",
        type=_owner_kinds,
        default=("own",),
        metavar="KINDS",
        help="comma-separated owners whose findings fail or block (own, distro, package, base; default: own)",
    )


def _owner_kinds(text: str) -> tuple[str, ...]:
    from hubguard.model import OWNER_KINDS

    kinds = tuple(kind.strip() for kind in text.split(",") if kind.strip())
    unknown = [kind for kind in kinds if kind not in OWNER_KINDS]
    if unknown or not kinds:
        raise argparse.ArgumentTypeError(f"owners are {', '.join(OWNER_KINDS)}, not {text!r}")
    return kinds


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
    _add_owner_options(scan)
    _add_limit_options(scan)
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

    push = commands.add_parser(
        "push",
        help="scan an image, then docker push it unless it leaks",
        description="Scan every layer, the config and the history of each image the push would send, "
        "decide whether the target repository is public, then run docker push or refuse.",
        epilog="exit codes: 0 pushed (or allowed, with --dry-run), 1 refused (nothing pushed), "
        "2 usage or input error, 3 scan or push failed or could not be confirmed\n"
        "example: hubguard push --decision-json decision.json myname/myserver:1",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    push.add_argument("target", metavar="NAME[:TAG]", help="what to push, as for docker push")
    push.add_argument("--all-tags", "-a", action="store_true", help="push every local tag of NAME")
    push.add_argument("--quiet", "-q", action="store_true", help="passed to docker push")
    push.add_argument("--platform", help="passed to docker push, and the platform scanned")
    push.add_argument("--disable-content-trust", action="store_true", help="passed to docker push")
    push.add_argument(
        "--create-private",
        action="store_true",
        help="create a Docker Hub repository that does not exist yet as private before pushing",
    )
    push.add_argument("--dry-run", action="store_true", help="check, scan and decide, but push nothing (CI)")
    push.add_argument(
        "--decision-json",
        type=Path,
        metavar="FILE",
        help="write the decision record (schema: docs/push-decision.schema.json)",
    )
    push.add_argument("--format", choices=FORMATS, default="table", help="format of the findings shown")
    push.add_argument("--output", "-o", type=Path, help="write the findings to this file")
    push.add_argument("--rules", type=Path, action="append", default=[], metavar="DIR")
    push.add_argument("--exhaustive", action="store_true", help="as for scan")
    push.add_argument("--include-third-party", action="store_true", help="as for scan (warns, never blocks)")
    push.add_argument("--baseline", type=Path, metavar="PATH", help="as for scan")
    _add_owner_options(push)
    _add_limit_options(push)
    _add_cache_options(push)
    push.set_defaults(run=_run_push)

    install_plugin = commands.add_parser(
        "install-plugin",
        help="make `docker hubguard` work (link the CLI plugin into cli-plugins/)",
        description="Write the docker-hubguard CLI plugin where the docker CLI looks for plugins, "
        "so that `docker hubguard push NAME` runs hubguard push.",
        epilog="exit codes: 0 installed, 2 the directory cannot be written\n"
        "example: sudo hubguard install-plugin --system",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = install_plugin.add_mutually_exclusive_group()
    where.add_argument(
        "--config",
        "--docker-config",
        dest="docker_config",
        type=Path,
        metavar="DIR",
        help="install into DIR/cli-plugins (default: $DOCKER_CONFIG or ~/.docker)",
    )
    where.add_argument(
        "--system",
        action="store_true",
        help="install for every user, into /usr/local/lib/docker/cli-plugins",
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
    _add_limit_options(context)
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

    lint = commands.add_parser(
        "lint", help="find secret-handling mistakes in Dockerfiles and CI build steps, before building"
    )
    lint.add_argument(
        "paths",
        nargs="*",
        metavar="DOCKERFILE",
        help="Dockerfiles, workflows, Makefiles, or directories to search; - reads a Dockerfile from "
        "stdin (default: every Dockerfile, *.Dockerfile, Dockerfile.*, .github/workflows/*.yml and "
        "Makefile in the repository)",
    )
    lint.add_argument("--format", choices=FORMATS, default="table", help="report format")
    lint.add_argument("--output", "-o", type=Path, help="write the report to this file")
    lint.add_argument(
        "--fail-on", type=_severity, default=Severity.LOW, metavar="SEVERITY", help="as for scan"
    )
    lint.add_argument("--rules", type=Path, action="append", default=[], metavar="DIR")
    lint.add_argument("--baseline", type=Path, metavar="PATH", help="as for scan")
    lint.set_defaults(run=_run_lint)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except HubguardError as exc:
        from hubguard.detect.names import printable

        print(f"hubguard: error: {printable(str(exc))}", file=sys.stderr)
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
        base=args.base,
        failing_owners=args.fail_owners,
        limits=archive_limits(args),
    )


def _run_scan(args: argparse.Namespace) -> int:
    from hubguard.detect.names import name_guard, scrub_report
    from hubguard.report.progress import LayerProgress
    from hubguard.scan import Scanner
    from hubguard.suppress import load_suppressions

    with LayerProgress() as progress:
        scanner = Scanner(scan_options(args), progress=progress.update)
        report = scanner.scan(args.targets)
    load_suppressions(Path.cwd(), args.baseline, args.ignore_file).apply(report)
    scrub_report(report, name_guard(scanner.rules))
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
        create_private=args.create_private,
        dry_run=args.dry_run,
        decision_json=args.decision_json,
    )
    return guarded_push(request)


def _run_context(args: argparse.Namespace) -> int:
    """One build context (or, with --staged, each context the changed files land in): secrets in
    what is sent, and .dockerignore coverage; ``--fix`` first appends the missing lines."""
    from hubguard.context import CONTEXT_RULES, ContextScanner, check_staged
    from hubguard.detect.names import name_guard, scrub_report
    from hubguard.errors import InputError
    from hubguard.suppress import load_suppressions

    scanner = ContextScanner(
        args.rules,
        include_third_party=args.include_third_party,
        exhaustive=args.exhaustive,
        coverage_only=args.coverage_only,
        limits=archive_limits(args),
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
    load_suppressions(Path.cwd(), args.baseline, args.ignore_file).apply(report)
    scrub_report(report, name_guard(scanner.rules))
    emit(report, args, {**scanner.rules.by_id(), **CONTEXT_RULES} if args.format == "sarif" else None)
    return exit_code(report, args.fail_on)


def _run_lint(args: argparse.Namespace) -> int:
    """Dockerfiles and CI files: 0 clean, 1 findings, 2 a named file is missing, 3 unparsable."""
    from hubguard.lint import LINT_RULES, Linter, discover, fix_hints, require_files
    from hubguard.report.table import NON_TERMINAL_WIDTH, output_width
    from hubguard.suppress import load_suppressions

    paths = [
        found
        for path in args.paths or ["."]
        for found in (discover(Path(path)) if os.path.isdir(path) else [path])
    ]
    if not paths:
        print("hubguard: no Dockerfile, workflow or Makefile found", file=sys.stderr)
        return EXIT_CLEAN
    require_files(paths)
    report = Linter(args.rules).lint(paths)
    load_suppressions(Path.cwd(), args.baseline).apply(report)
    emit(report, args, LINT_RULES if args.format == "sarif" else None)
    if args.format == "table" and report.findings:
        emit_text(fix_hints(report, NON_TERMINAL_WIDTH if args.output else output_width()), args)
    return exit_code(report, args.fail_on)


def _run_install_plugin(args: argparse.Namespace) -> int:
    from hubguard.plugin import install_plugin

    path = install_plugin(args.docker_config, system=args.system)
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
