"""The options several commands share, and their checks: a bad value is one line and exit 2,
like every other input error."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from hubguard.commands.common import COLOR_CHOICES
from hubguard.commands.help import CACHE_DIR_DEFAULT, RULES_HELP
from hubguard.errors import EXIT_USAGE
from hubguard.model import Severity
from hubguard.report import FORMATS  # the format registry's names


class Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit 2 like every other input error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"hubguard: error: {message} (see: {self.prog} --help)\n")


def severity(value: str) -> Severity:
    try:
        return Severity.parse(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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


def platform(value: str) -> str:
    if not _PLATFORM.fullmatch(value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not OS/ARCH[/VARIANT], e.g. linux/amd64 or linux/arm64/v8"
        )
    return value


def jobs(value: str) -> int:
    try:
        jobs = int(value)
    except ValueError:
        jobs = 0
    if not 1 <= jobs <= MAX_JOBS:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a number of worker processes from 1 to {MAX_JOBS}"
        )
    return jobs


def add_detection_options(parser: argparse.ArgumentParser) -> None:
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
        type=severity,
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


def add_limit_options(parser: argparse.ArgumentParser) -> None:
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


def add_owner_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base",
        metavar="IMAGE",
        help="the base image: findings in the layers it shares are reported as inherited "
        "(default: the image named by the org.opencontainers.image.base.name label, if in the engine)",
    )
    parser.add_argument(
        "--fail-owners",
        type=owner_kinds,
        default=("own",),
        metavar="KINDS",
        help="comma-separated owners whose findings fail or block (own, distro, package, base; default: own)",
    )


def owner_kinds(text: str) -> tuple[str, ...]:
    from hubguard.model import OWNER_KINDS

    kinds = tuple(kind.strip() for kind in text.split(",") if kind.strip())
    unknown = [kind for kind in kinds if kind not in OWNER_KINDS]
    if unknown or not kinds:
        raise argparse.ArgumentTypeError(f"owners are {', '.join(OWNER_KINDS)}, not {text!r}")
    return kinds


def add_cache_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the layer cache")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        metavar="DIR",
        help=f"layer cache directory (default: {CACHE_DIR_DEFAULT})",
    )
    add_jobs_option(parser)


def add_jobs_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--jobs",
        "-j",
        type=jobs,
        default=0,
        metavar="N",
        help=f"worker processes, 1 to {MAX_JOBS} (default: one per core)",
    )
