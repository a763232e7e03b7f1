"""The build context as ``docker build`` sends it: one walk of a directory under a builder's
.dockerignore semantics (:mod:`hubguard.dockerignore`), without reading any file.

What comes out is what the builder receives (files, symlinks as links, directories), what the
ignore file kept back, and what could not be examined: the context scan reads exactly the
listed files, so its report matches what a build would ship.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from hubguard.dockerignore import DEFAULT_BUILDER
from hubguard.dockerignore.matcher import DockerIgnore, MatchState, Semantics, check_builder
from hubguard.dockerignore.pattern import IGNORE_FILE_NAME, IgnoreLine, parse_dockerignore
from hubguard.errors import InputError

DEFAULT_DOCKERFILE = "Dockerfile"

EntryKind = Literal["file", "symlink", "dir"]


@dataclass(frozen=True)
class ContextEntry:
    """One path the builder receives; ``copied`` is False for a Dockerfile or ignore file
    that is sent to the builder but excluded, so ``COPY . /dst`` never sees it."""

    path: str
    kind: EntryKind
    copied: bool = True


@dataclass
class ContextListing:
    """What ``docker build`` would send, what it left out, and what could not be examined."""

    root: Path
    builder: str
    dockerfile: str | None
    ignore_file: str | None
    patterns: list[IgnoreLine] = field(default_factory=list)
    entries: list[ContextEntry] = field(default_factory=list)
    excluded: list[ContextEntry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # seen and harmless, e.g. a symlink loop

    def files(self) -> list[ContextEntry]:
        """Regular files the builder receives: what detectors must read."""
        return [entry for entry in self.entries if entry.kind == "file"]

    def copied(self) -> dict[str, EntryKind]:
        """Path → kind of everything ``COPY . /dst`` would create."""
        return {entry.path: entry.kind for entry in self.entries if entry.copied}


def find_ignore_file(
    context_dir: Path, dockerfile: str | None, builder: str = DEFAULT_BUILDER
) -> Path | None:
    """The ignore file in force: BuildKit's ``<Dockerfile>.dockerignore`` beside the
    Dockerfile when it exists, else the context's ``.dockerignore`` (classic reads only that).

    ``dockerfile`` is relative to ``context_dir`` or absolute.
    """
    root = Path(context_dir)
    if check_builder(builder).per_dockerfile_ignore and dockerfile:
        dockerfile_path = root / dockerfile
        beside = dockerfile_path.with_name(dockerfile_path.name + IGNORE_FILE_NAME)
        if beside.is_file():
            return beside
    default = root / IGNORE_FILE_NAME
    return default if default.is_file() else None


def walk_context(
    context_dir: Path, dockerfile: str | None = None, builder: str = DEFAULT_BUILDER
) -> ContextListing:
    """Exactly what ``docker build`` sends from ``context_dir``, without reading any file.

    Symlinks are listed as links, never followed. Excluded directories are not entered
    unless an exception may re-include something below them. Anything that cannot be
    examined becomes one line in ``problems`` and the walk goes on. A bad ignore file is a
    problem too, and then every file counts as sent (Docker itself would refuse to build).
    """
    semantics = check_builder(builder)
    try:
        root = Path(context_dir).resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise InputError(f"build context {context_dir}: {_reason(exc)}") from None
    if not root.is_dir():
        raise InputError(f"build context {context_dir}: not a directory")
    dockerfile_rel = _inside(root, root / (dockerfile or DEFAULT_DOCKERFILE))
    ignore_path = find_ignore_file(root, dockerfile, builder)
    ignore_rel = _inside(root, ignore_path) if ignore_path else None
    listing = ContextListing(root, builder, dockerfile_rel, ignore_rel)
    patterns = _load_patterns(ignore_path, listing)
    copy_matcher = DockerIgnore(patterns, builder)
    walk_matcher = copy_matcher
    build_files = [name for name in (listing.ignore_file, dockerfile_rel) if name]
    if semantics.build_files_as_exceptions:
        extra = [f"!{name}" for name in build_files if copy_matcher.matches(name)]
        walk_matcher = DockerIgnore([*patterns, *extra], builder) if extra else copy_matcher
    _walk(root, walk_matcher, semantics, listing)
    _add_build_files(root, build_files, copy_matcher, semantics, listing)
    _add_parent_dirs(listing, semantics)
    listing.entries.sort(key=lambda entry: entry.path)
    listing.excluded.sort(key=lambda entry: entry.path)
    return listing


def _load_patterns(ignore_path: Path | None, listing: ContextListing) -> list[str]:
    if ignore_path is None:
        return []
    if _inside(listing.root, ignore_path.resolve()) is None:
        # Its lines would be echoed in reports: never read a file from outside the context.
        listing.problems.append(
            f"{listing.ignore_file}: a symlink to a file outside the build context; not read, "
            "treating every file as sent"
        )
        return []
    try:
        text = ignore_path.read_bytes().decode("utf-8", "surrogateescape")
        listing.patterns = parse_dockerignore(text, source=listing.ignore_file or ignore_path.name)
        patterns = [line.pattern for line in listing.patterns]
        DockerIgnore(patterns, listing.builder)  # regexp errors surface at compile time
    except OSError as exc:
        listing.problems.append(f"{ignore_path}: cannot read ({_reason(exc)}); treating every file as sent")
    except InputError as exc:
        listing.patterns = []
        listing.problems.append(f"{exc}; Docker would refuse to build, treating every file as sent")
    else:
        return patterns
    return []


def _walk(root: Path, matcher: DockerIgnore, semantics: Semantics, listing: ContextListing) -> None:
    pending: list[tuple[str, MatchState]] = [("", None)]
    while pending:
        directory, state = pending.pop()
        try:
            with os.scandir(root / directory) as scan:
                children = sorted(scan, key=lambda child: child.name)
        except OSError as exc:
            listing.problems.append(f"{_shown(directory or '.')}: cannot list directory ({_reason(exc)})")
            continue
        subdirectories: list[tuple[str, MatchState]] = []
        for child in children:
            path = f"{directory}/{child.name}" if directory else child.name
            try:
                kind = _entry_kind(child)
            except OSError as exc:
                listing.problems.append(f"{_shown(path)}: cannot stat ({_reason(exc)})")
                continue
            excluded, child_state = matcher.step(path, state)
            if excluded:
                entered = kind == "dir" and matcher.may_reinclude_below(path)
                if entered:
                    subdirectories.append((path, child_state))
                if entered and semantics.sends_entered_dirs:
                    listing.entries.append(ContextEntry(path, "dir"))
                else:
                    listing.excluded.append(ContextEntry(path, kind or "file"))
                continue
            if not _is_utf8(path):
                listing.problems.append(f"{_shown(path)}: file name is not valid UTF-8")
            if kind is None:
                listing.problems.append(
                    f"{_shown(path)}: is a {_special_name(child)}; not scanned"
                    " (exclude it in the ignore file)"
                )
                continue
            if kind == "symlink":
                _check_link(child.path, path, listing)
            elif kind == "dir":
                subdirectories.append((path, child_state))
            elif not os.access(child.path, os.R_OK):
                listing.problems.append(f"{_shown(path)}: cannot read file (permission denied)")
            listing.entries.append(ContextEntry(path, kind))
        pending.extend(reversed(subdirectories))  # depth first, in name order


def _entry_kind(child: os.DirEntry[str]) -> EntryKind | None:
    """From the directory listing's file type, no extra system call; None for FIFOs and such."""
    if child.is_symlink():
        return "symlink"
    if child.is_dir(follow_symlinks=False):
        return "dir"
    if child.is_file(follow_symlinks=False):
        return "file"
    return None


def _add_build_files(
    root: Path,
    build_files: list[str],
    copy_matcher: DockerIgnore,
    semantics: Semantics,
    listing: ContextListing,
) -> None:
    """The Dockerfile and ignore file always reach the builder; COPY sees them only if kept."""
    sent = {entry.path: entry for entry in listing.entries}
    for name in build_files:
        if not (root / name).is_file():
            continue
        # Classic: the daemon deletes them from the context when the ignore file matches them.
        classic = semantics.build_files_as_exceptions
        copied = not copy_matcher.matches(name) if classic else name in sent
        if name in sent:
            listing.entries.remove(sent[name])
        listing.entries.append(ContextEntry(name, "file", copied))
        listing.excluded = [entry for entry in listing.excluded if entry.path != name]


def _add_parent_dirs(listing: ContextListing, semantics: Semantics) -> None:
    """A directory holding something that lands exists in the copy, whatever the patterns say.

    The classic builder extracts deleted build files too, so their directories stay.
    """
    present = {entry.path for entry in listing.entries}
    for entry in list(listing.entries):
        if not (entry.copied or semantics.build_files_as_exceptions):
            continue
        parent = entry.path.rpartition("/")[0]
        while parent and parent not in present:
            present.add(parent)
            listing.entries.append(ContextEntry(parent, "dir"))
            parent = parent.rpartition("/")[0]


def _check_link(absolute: str, path: str, listing: ContextListing) -> None:
    try:
        os.stat(absolute)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # harmless: the builder sends the link itself, never follows it
            listing.notes.append(f"{_shown(path)}: symlink loop (sent as a link, not followed)")


def _special_name(child: os.DirEntry[str]) -> str:
    try:
        mode = child.stat(follow_symlinks=False).st_mode
    except OSError:
        return "special file"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "device file" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "special file"


def _inside(root: Path, path: Path) -> str | None:
    """``path`` relative to ``root`` in POSIX form, or None when it lies outside."""
    try:
        relative = Path(os.path.normpath(path)).relative_to(root)
    except ValueError:
        return None
    return relative.as_posix()


def _is_utf8(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown(path: str) -> str:
    """A printable form of a path whose name may hold undecodable bytes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc)
