"""Pre-commit mode (``hubguard context --staged``): the build contexts a commit's files land
in, each judged on the files that changed there (the whole context when its Dockerfile or
ignore file changed), and one report for them all.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hubguard.context.scan import ContextScanner
from hubguard.dockerignore import DEFAULT_BUILDER
from hubguard.dockerignore.pattern import IGNORE_FILE_NAME
from hubguard.errors import InputError
from hubguard.model import ScanReport


def is_dockerfile_name(name: str) -> bool:
    """``Dockerfile``, ``Dockerfile.dev`` or ``app.Dockerfile``, but not their ignore files."""
    if name.endswith(IGNORE_FILE_NAME):
        return False
    return name == "Dockerfile" or name.startswith("Dockerfile.") or name.endswith(".Dockerfile")


@dataclass(frozen=True)
class StagedContext:
    """A directory holding a Dockerfile, taken as the build context of that Dockerfile."""

    directory: Path
    dockerfile: str


def staged_contexts(files: Iterable[str], top: Path) -> dict[StagedContext, set[str] | None]:
    """Which contexts each changed path lands in, and what to judge there.

    A path belongs to every directory from its own up to ``top`` that holds a Dockerfile (a
    file in ``svc/`` is sent by ``svc/Dockerfile`` and by a top-level ``Dockerfile`` alike).
    The value is the set of context-relative paths to read, or None for the whole context:
    when a Dockerfile or ignore file changed, any sent file may be newly exposed.
    """
    top = Path(os.path.abspath(top))
    dockerfiles: dict[Path, list[str]] = {}
    plan: dict[StagedContext, set[str] | None] = {}
    for name in files:
        path = Path(os.path.abspath(name))
        directory = path.parent
        while directory == top or top in directory.parents:
            if directory not in dockerfiles:
                dockerfiles[directory] = _dockerfiles_in(directory)
            relative = path.relative_to(directory).as_posix()
            for dockerfile in dockerfiles[directory]:
                context = StagedContext(directory, dockerfile)
                changed_build_file = relative in (dockerfile, dockerfile + IGNORE_FILE_NAME, IGNORE_FILE_NAME)
                if changed_build_file or plan.get(context, set()) is None:
                    plan[context] = None
                else:
                    plan.setdefault(context, set()).add(relative)  # type: ignore[union-attr]
            directory = directory.parent
    return plan


def _dockerfiles_in(directory: Path) -> list[str]:
    try:
        return sorted(
            entry.name
            for entry in os.scandir(directory)
            if is_dockerfile_name(entry.name) and entry.is_file(follow_symlinks=False)
        )
    except OSError:  # a directory the commit deleted
        return []


def staged_paths(files: list[str]) -> tuple[list[str], Path]:
    """The paths to check and the repository top. With no ``files`` (a plain git hook) the
    index's changes are asked of git; deletions are always added, because pre-commit never
    passes a deleted file and a deleted .dockerignore exposes a whole context."""
    try:
        top = Path(_git("rev-parse", "--show-toplevel").strip())
    except InputError:
        if not files:
            raise
        return files, Path.cwd()  # outside git (pre-commit run --files in a plain directory)
    names = _git("diff", "--cached", "--name-only", "-z", *([] if not files else ["--diff-filter=D"]))
    changed = [str(top / name) for name in names.split("\0") if name]
    return [*files, *changed], top


def _git(*args: str) -> str:
    try:
        result = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
    except OSError as exc:
        raise InputError(f"--staged needs git: {exc.strerror}") from None
    if result.returncode != 0:
        message = (result.stderr.strip().splitlines() or ["failed"])[-1]
        raise InputError(f"--staged: git {args[0]}: {message}")
    return result.stdout


def check_staged(scanner: ContextScanner, files: list[str], builder: str = DEFAULT_BUILDER) -> ScanReport:
    """One report for every build context the staged changes touch, paths relative to here."""
    paths, top = staged_paths(files)
    report = ScanReport()
    here = Path.cwd()
    for context, only in sorted(staged_contexts(paths, top).items(), key=lambda item: str(item[0])):
        directory = Path(os.path.relpath(context.directory, here))
        name = str(directory) if context.dockerfile == "Dockerfile" else f"{directory} ({context.dockerfile})"
        prefix = "" if str(directory) == "." else directory.as_posix() + "/"
        check = scanner.check(directory, context.dockerfile, builder, only, name=name, prefix=prefix)
        report.merge(check.report)
    return report
