"""The command line: parse arguments, call the library, print one clear line on errors.

Exit codes: 0 clean, 1 findings at or above ``--fail-on`` (or a refused push),
2 usage or input error, 3 the scan (or push) could not complete.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from hubguard import __version__
from hubguard.errors import HubguardError
from hubguard.model import ScanReport, Severity

if TYPE_CHECKING:
    from hubguard.context import ContextScanner, FixResult
    from hubguard.detect.content import Limits
    from hubguard.detect.rules import RuleSet
    from hubguard.scan import ScanOptions
    from hubguard.suppress import Suppressions

FORMATS = ("table", "json", "sarif", "github")  # hubguard.report renders each
EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3


RULES_HELP = (
    "also load a rule pack: a directory of *.toml packs, one pack file, or a gitleaks/Betterleaks "
    "config (repeatable; a rule with a built-in id replaces it)"
)
CACHE_DIR_DEFAULT = "$HUBGUARD_CACHE_DIR, else $XDG_CACHE_HOME/hubguard, else ~/.cache/hubguard"
_SCAN_EXITS = """exit codes:
  0  no finding at or above --fail-on
  1  findings at or above --fail-on
  2  usage or input error (bad option, unreadable input, no Docker engine, bad config), one line
  3  the scan could not complete: nothing from it may be trusted"""
# Per command: (description, epilog: exit codes and an example). %(prog)s is the command as
# called, so `docker hubguard scan --help` shows `docker hubguard scan`.
COMMAND_HELP = {
    "scan": (
        "Scan images for secrets: every layer (deleted and overwritten files too), the config "
        "(Env, Labels) and the history.",
        f"""{_SCAN_EXITS}

examples:
  %(prog)s myname/app:1
  %(prog)s docker-archive:leaky.tar --format sarif --output hubguard.sarif""",
    ),
    "context": (
        "Scan what docker build would send (the build context, honouring .dockerignore exactly) "
        "and check that .dockerignore leaves out credential files.",
        f"""{_SCAN_EXITS}

example:
  %(prog)s . --fix""",
    ),
    "baseline": (
        "Write a detect-secrets baseline of the findings: later scans from this directory "
        "suppress them, so only new secrets fail.",
        """exit codes:
  0  baseline written
  2  usage or input error, one line
  3  the scan could not complete: nothing written

example:
  %(prog)s myname/app:1            # writes .secrets.baseline""",
    ),
    "rules": (
        "List the rules in play: id (as .hubguardignore's rule: entries take it), kind, "
        "severity, title and pack.",
        """exit codes:
  0  listed
  2  a rule pack is invalid, one line

example:
  %(prog)s --rules ./my-rules""",
    ),
    "push": (
        "Scan an image, decide from the repository's visibility, then docker push it, or refuse "
        "when it would leak a secret to a public (or unknown) repository.",
        """exit codes:
  0  pushed
  1  refused: findings, and the repository is public or unknown
  2  usage or input error, one line
  3  the scan or the push could not complete: nothing pushed

example:
  %(prog)s myname/app:1""",
    ),
    "install-plugin": (
        "Link the docker CLI plugin into cli-plugins/, so `docker hubguard …` works.",
        """exit codes:
  0  installed
  2  the plugin directory cannot be written, one line

example:
  %(prog)s && docker hubguard push myname/app:1""",
    ),
    "lint": (
        "Find secret-handling mistakes in Dockerfiles and CI build steps, before anything is built: "
        "secret-named ARG/ENV, literal secrets, secrets written into layers, credential files "
        "copied in, multi-stage leaks and --build-arg secrets in CI files.",
        """exit codes:
  0  no finding at or above --fail-on
  1  findings
  2  usage or input error (a named file is missing), one line
  3  a file could not be read or parsed

examples:
  %(prog)s
  %(prog)s Dockerfile .github/workflows/image.yml --format sarif""",
    ),
    "cache": (
        f"Show or empty the layer cache ({CACHE_DIR_DEFAULT}). It holds hashes and redacted "
        "previews, never a secret value.",
        """exit codes:
  0  done
  2  usage error, one line

example:
  %(prog)s clear""",
    ),
}


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit 2 like every other input error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"hubguard: error: {message} (see: {self.prog} --help)\n")


def _severity(value: str) -> Severity:
    try:
        return Severity.parse(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


COLOR_CHOICES = {"auto": None, "always": True, "never": False}


def add_color_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--color",
        choices=tuple(COLOR_CHOICES),
        default="auto",
        help="colour the table: auto (default: on a terminal; FORCE_COLOR forces it, NO_COLOR "
        "turns it off), always, never",
    )


MAX_JOBS = 256
_PLATFORM = re.compile(r"[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?")


def _platform(value: str) -> str:
    if not _PLATFORM.fullmatch(value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not OS/ARCH[/VARIANT], e.g. linux/amd64 or linux/arm64/v8"
        )
    return value


def _jobs(value: str) -> int:
    try:
        jobs = int(value)
    except ValueError:
        jobs = 0
    if not 1 <= jobs <= MAX_JOBS:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a number of worker processes from 1 to {MAX_JOBS}"
        )
    return jobs


def _add_detection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="report format: table (for people; the default), json (docs/report-format.md), "
        "sarif (code scanning), github (Actions annotations)",
    )
    parser.add_argument(
        "--output",
        "-o",
        type=Path,
        metavar="FILE",
        help="write the report to FILE (a table at a fixed 100 columns) and print only the summary line",
    )
    add_color_option(parser)
    parser.add_argument(
        "--fail-on",
        type=_severity,
        default=Severity.LOW,
        metavar="SEVERITY",
        help="exit 1 when a finding is at or above SEVERITY: critical, high, medium or low "
        "(default: low, i.e. any finding fails)",
    )
    parser.add_argument("--rules", type=Path, action="append", default=[], metavar="PATH", help=RULES_HELP)
    parser.add_argument(
        "--exhaustive",
        action="store_true",
        help="pass every text line through every detector (slow; the prefilter's reference)",
    )
    parser.add_argument(
        "--max-per-file",
        type=int,
        default=20,
        metavar="N",
        help="list at most N findings per rule per file, then one summary finding (default 20; 0: all)",
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
        metavar="DIR",
        help=f"layer cache directory (default: {CACHE_DIR_DEFAULT})",
    )
    _add_jobs_option(parser)


def _add_jobs_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--jobs",
        "-j",
        type=_jobs,
        default=0,
        metavar="N",
        help=f"worker processes, 1 to {MAX_JOBS} (default: one per core)",
    )


def build_parser(prog: str = "hubguard") -> argparse.ArgumentParser:
    """``prog`` is how the user called us: ``docker hubguard`` through the CLI plugin."""
    parser = _Parser(
        prog=prog,
        description="Stop secrets before docker push: scan images and build contexts, push only "
        "what does not leak.",
        epilog=f"Run '{prog} COMMAND --help' for a command's options, exit codes and an example.",
    )
    parser.add_argument("--version", action="version", version=f"hubguard {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    scan = commands.add_parser("scan", help="scan images for secrets")
    scan.add_argument(
        "targets",
        nargs="+",
        metavar="IMAGE",
        help="an image in the Docker engine, docker-archive:PATH, or oci:DIR",
    )
    scan.add_argument(
        "--platform",
        type=_platform,
        metavar="OS/ARCH[/VARIANT]",
        help="the platform to scan (default: the host's, for a multi-platform image); refused when "
        "the image holds no such platform",
    )
    scan.add_argument("--all-platforms", action="store_true", help="scan every platform of an index")
    _add_detection_options(scan)
    _add_owner_options(scan)
    _add_limit_options(scan)
    _add_cache_options(scan)
    scan.set_defaults(run=_run_scan)

    baseline = commands.add_parser("baseline", help="write a detect-secrets baseline of the findings")
    baseline.add_argument("targets", nargs="+", metavar="IMAGE", help="images, as for scan")
    baseline.add_argument(
        "--output",
        "-o",
        type=Path,
        default=Path(".secrets.baseline"),
        metavar="PATH",
        help="the baseline to write (default: .secrets.baseline in the current directory, where "
        "scan and context find it)",
    )
    baseline.add_argument("--update", action="store_true", help="keep the entries already in --output")
    baseline.add_argument("--rules", type=Path, action="append", default=[], metavar="PATH", help=RULES_HELP)
    baseline.set_defaults(run=_run_baseline)

    rules = commands.add_parser("rules", help="list the rules in play")
    rules.add_argument("--rules", type=Path, action="append", default=[], metavar="PATH", help=RULES_HELP)
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
    push.add_argument("--rules", type=Path, action="append", default=[], metavar="PATH", help=RULES_HELP)
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
    cache.add_argument(
        "action", choices=["clear", "dir"], help="dir: print the cache directory; clear: empty it"
    )
    cache.add_argument("--cache-dir", type=Path, metavar="DIR", help=f"(default: {CACHE_DIR_DEFAULT})")
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
    from hubguard.dockerignore import BUILDERS, DEFAULT_BUILDER

    context.add_argument(
        "--builder",
        choices=BUILDERS,
        default=DEFAULT_BUILDER,
        help="whose .dockerignore semantics to follow (default: buildkit; see docs/context.md)",
    )
    _add_detection_options(context)
    _add_limit_options(context)
    _add_jobs_option(context)
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
    for name, command in commands.choices.items():
        description, command.epilog = COMMAND_HELP[name]
        command.description = textwrap.fill(description, 78)
        command.formatter_class = argparse.RawDescriptionHelpFormatter
    return parser


def main(argv: list[str] | None = None, prog: str = "hubguard") -> int:
    args = build_parser(prog).parse_args(argv)
    try:
        if getattr(args, "rules", None) is not None:
            from hubguard.config import configured_rule_packs

            args.rules = [*configured_rule_packs(), *args.rules]
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
        max_per_file=getattr(args, "max_per_file", 20),  # push has no --max-per-file: the default
    )


def _run_scan(args: argparse.Namespace) -> int:
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
    return exit_code(report, args.fail_on, problems_shown=_table_on_stdout(args))


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


def _run_baseline(args: argparse.Namespace) -> int:
    """Record today's findings so later scans pass until a new secret appears (exit 3 if incomplete)."""
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
    return exit_code(report, args.fail_on, problems_shown=_table_on_stdout(args))


def _context_report(scanner: ContextScanner, args: argparse.Namespace) -> ScanReport:
    from hubguard.context import check_staged
    from hubguard.errors import InputError

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


def _run_lint(args: argparse.Namespace) -> int:
    """Dockerfiles and CI files: 0 clean, 1 findings, 2 a named file is missing, 3 unparsable."""
    from hubguard.lint import LINT_RULES, Linter, discover, fix_hints, require_files
    from hubguard.report.table import DEFAULT_WIDTH, output_width
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
        emit_text(fix_hints(report, DEFAULT_WIDTH if args.output else output_width()), args)
    return exit_code(report, args.fail_on)


def _run_install_plugin(args: argparse.Namespace) -> int:
    from hubguard.plugin import install_plugin

    path = install_plugin(args.docker_config, system=args.system)
    print(f"hubguard: installed the docker CLI plugin at {path}; try: docker hubguard push --help")
    return EXIT_CLEAN


def emit(report: ScanReport, args: argparse.Namespace, rules: dict | None) -> None:
    """Render the report to stdout, or to ``--output`` (then stdout gets the summary line and
    where the report went, so a person at a terminal still sees the outcome)."""
    from hubguard.report import render
    from hubguard.report.common import FILE_WIDTH, summary_text

    color = COLOR_CHOICES[getattr(args, "color", "auto")]
    if not args.output:
        sys.stdout.write(render(report, args.format, rules=rules, color=color))
        sys.stdout.flush()
        return
    text = render(report, args.format, rules=rules, color=bool(color), width=FILE_WIDTH)
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise HubguardError(f"cannot write {args.output}: {exc.strerror}") from None
    print(summary_text(report))
    print(f"report written to {args.output}")


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


def _table_on_stdout(args: argparse.Namespace) -> bool:
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


def _run_rules(args: argparse.Namespace) -> int:
    """One rule per line: the id in full (it is what users type), kind, severity, then the title
    and pack, wrapped under their own column when the line would be wider than the output."""
    import textwrap

    from hubguard.detect.rules import load_rules
    from hubguard.report.table import output_width

    rules = load_rules(args.rules)
    rows = [
        (r.id, "token", r.severity.label, f"{r.title} [{r.pack}]")
        for r in sorted(rules.token_rules, key=lambda r: r.id)
    ]
    rows += [
        (r.id, "file", r.severity.label, f"{r.title} [{r.pack}]")
        for r in sorted(rules.file_rules, key=lambda r: r.id)
    ]
    rows += [(p.id, "plugin", p.severity.label, f"{p.name} [detect-secrets]") for p in rules.plugins]
    id_width = max(len("id"), *(len(row[0]) for row in rows))
    indent = id_width + 2 + 6 + 2 + 8 + 2
    room = max(output_width() - indent, 20)
    print(f"{'id':<{id_width}}  {'kind':<6}  {'severity':<8}  title [pack]")
    for rule_id, kind, severity, title in rows:
        wrapped = textwrap.wrap(title, room) or [""]
        print(f"{rule_id:<{id_width}}  {kind:<6}  {severity:<8}  {wrapped[0]}")
        for rest in wrapped[1:]:
            print(" " * indent + rest)
    return EXIT_CLEAN


def _run_cache(args: argparse.Namespace) -> int:
    from hubguard import cache

    root = args.cache_dir or cache.default_cache_dir()
    if args.action == "dir":
        print(root)
    else:
        print(f"removed {cache.clear(root)} cache entries from {root}")
    return EXIT_CLEAN
