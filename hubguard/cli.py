"""The command line: parse arguments, call the library, print one clear line on errors.

Exit codes: 0 clean, 1 findings at or above ``--fail-on`` (or a refused push),
2 usage or input error, 3 the scan (or push) could not complete.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from pathlib import Path
from typing import NoReturn

from hubguard import __version__
from hubguard.commands import baseline as baseline_command
from hubguard.commands import cache as cache_command
from hubguard.commands import context as context_command
from hubguard.commands import install_plugin as install_plugin_command
from hubguard.commands import lint as lint_command
from hubguard.commands import options
from hubguard.commands import push as push_command
from hubguard.commands import rules as rules_command
from hubguard.commands import scan as scan_command
from hubguard.commands.help import COMMAND_HELP
from hubguard.errors import (
    EXIT_CLEAN,
    EXIT_FINDINGS,
    EXIT_INCOMPLETE,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    HubguardError,
)
from hubguard.model import Severity

# What each subcommand runs: hubguard.commands, one module per command.
RUN = {
    "scan": scan_command.run,
    "baseline": baseline_command.run,
    "rules": rules_command.run,
    "push": push_command.run,
    "install-plugin": install_plugin_command.run,
    "cache": cache_command.run,
    "context": context_command.run,
    "lint": lint_command.run,
}


def build_parser(prog: str = "hubguard") -> argparse.ArgumentParser:
    """``prog`` is how the user called us: ``docker hubguard`` through the CLI plugin."""
    parser = options.Parser(
        prog=prog,
        description="Stop secrets before docker push: scan images and build contexts, push only "
        "what does not leak.",
        epilog=f"Run '{prog} COMMAND --help' for a command's options, exit codes and an example.",
    )
    parser.add_argument("--version", action="version", version=f"hubguard {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=options.Parser)

    scan = commands.add_parser("scan", help="scan images for secrets")
    scan.add_argument(
        "targets",
        nargs="+",
        metavar="IMAGE",
        help="an image in the Docker engine, docker-archive:PATH, or oci:DIR",
    )
    scan.add_argument(
        "--platform",
        type=options.platform,
        metavar="OS/ARCH[/VARIANT]",
        help="the platform to scan (default: the host's, for a multi-platform image); refused when "
        "the image holds no such platform",
    )
    scan.add_argument("--all-platforms", action="store_true", help="scan every platform of an index")
    options.add_detection_options(scan)
    options.add_owner_options(scan)
    options.add_limit_options(scan)
    options.add_cache_options(scan)

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
    baseline.add_argument(
        "--rules", type=Path, action="append", default=[], metavar="PATH", help=options.RULES_HELP
    )

    rules = commands.add_parser("rules", help="list the rules in play")
    rules.add_argument(
        "--rules", type=Path, action="append", default=[], metavar="PATH", help=options.RULES_HELP
    )

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
    push.add_argument(
        "--format", choices=options.FORMATS, default="table", help="format of the findings shown"
    )
    push.add_argument(
        "--output",
        "-o",
        type=Path,
        metavar="FILE",
        help="write the findings to FILE (a table at a fixed 100 columns) and print only the summary line",
    )
    push.add_argument(
        "--rules", type=Path, action="append", default=[], metavar="PATH", help=options.RULES_HELP
    )
    push.add_argument("--exhaustive", action="store_true", help="as for scan")
    push.add_argument("--include-third-party", action="store_true", help="as for scan (warns, never blocks)")
    push.add_argument("--baseline", type=Path, metavar="PATH", help="as for scan")
    push.add_argument("--ignore-file", type=Path, metavar="PATH", help="as for scan")
    options.add_color_option(push)
    options.add_owner_options(push)
    options.add_limit_options(push)
    options.add_cache_options(push)

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

    cache = commands.add_parser("cache", help="manage the layer cache")
    cache.add_argument(
        "action", choices=["clear", "dir"], help="dir: print the cache directory; clear: empty it"
    )
    cache.add_argument(
        "--cache-dir", type=Path, metavar="DIR", help=f"(default: {options.CACHE_DIR_DEFAULT})"
    )

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
    options.add_detection_options(context)
    options.add_limit_options(context)
    options.add_jobs_option(context)
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
    lint.add_argument("--format", choices=options.FORMATS, default="table", help="report format")
    lint.add_argument("--output", "-o", type=Path, help="write the report to this file")
    lint.add_argument(
        "--fail-on", type=options.severity, default=Severity.LOW, metavar="SEVERITY", help="as for scan"
    )
    lint.add_argument("--rules", type=Path, action="append", default=[], metavar="DIR")
    lint.add_argument("--baseline", type=Path, metavar="PATH", help="as for scan")
    for name, command in commands.choices.items():
        command.set_defaults(run=RUN[name])
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
        return EXIT_INTERRUPTED
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


def run() -> NoReturn:
    """The command (console script and ``python -m hubguard``): :func:`main`, then out without
    the interpreter's teardown, which freed every rule, regex and automaton one by one (15 ms,
    7 % of a small scan). What a run writes is closed before ``main`` returns; the standard
    streams are flushed here. ``--help`` and usage errors leave through ``SystemExit`` as usual."""
    code = main()
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # the reader left early, as main() treats it
        code = code or EXIT_USAGE
    except OSError as exc:
        if code in (EXIT_CLEAN, EXIT_FINDINGS):  # else main() has said what went wrong
            print(f"hubguard: error: cannot write to standard output: {exc.strerror}", file=sys.stderr)
        code = code or EXIT_INCOMPLETE
    sys.stderr.flush()
    os._exit(code)
