"""Docker's .dockerignore semantics, exactly: which files ``docker build`` sends.

Gitignore look-alikes (pathspec's own styles included) get this wrong. In Docker a pattern
is anchored at the context root, ``*`` and ``?`` never cross ``/``, ``[^a]`` negates but
``[!a]`` is the class of ``!`` and ``a``, ``**`` spans any number of directories, the last
matching line wins, ``!`` exceptions re-include, and a pattern that matches a directory
excludes its whole subtree. Builder generations disagree at the edges, so hubguard models
three of them (``BUILDERS``):

``buildkit`` (default)
    Current BuildKit (buildx, Docker 23 and later): moby/patternmatcher and fsutil's
    filter. A line excludes a path when it matches the path or one of its parent
    directories. When any ``!`` exception holds a wildcard, the walk enters every
    excluded directory, so ``secrets`` + ``!**/public.pem`` sends ``secrets/public.pem``;
    otherwise an excluded directory is entered only when an exception's text starts with
    its path. Lines are escaped regexps with literal, prefix and suffix fast paths
    (``**foo`` is a plain suffix test, so it also matches ``xfoo``). fsutil carries each
    directory's per-line results down to its children, which has one odd effect that we
    keep: ``a``, ``!a/b``, ``a`` sends ``a/b``. ``<Dockerfile>.dockerignore`` beside the
    Dockerfile replaces the root ``.dockerignore``.
``buildkit-20.10``
    BuildKit as Docker 20.10's CLI drives it (the engine in this repository's tests). The
    client walks the context with the 2020 fsutil walker and docker/docker's old
    fileutils: an excluded directory is entered only when an exception's text starts with
    its path (``!**/public.pem`` re-includes nothing inside ``secrets``); inside it, a
    line is tested against the path and against the first N components of its parent, N
    being the line's own component count (so ``**/b`` stops excluding ``x/y/b/z``); the
    regexp escapes only ``.`` and ``$`` (``a+b`` matches ``aab``, ``a^b`` matches
    nothing); directories entered for an exception are sent even when they end up empty.
    The per-Dockerfile ignore file is honoured.
``classic``
    The legacy builder (``DOCKER_BUILDKIT=0``) of Docker 20.10 (pkg/archive
    ``TarWithOptions``). Matching as ``buildkit-20.10``, but only the root
    ``.dockerignore`` is read and entered directories are not sent by themselves. The CLI
    appends ``!.dockerignore`` and ``!<Dockerfile>`` exceptions so both reach the daemon,
    which deletes them from the context when the ignore file excludes them; their parent
    directories stay, so ``COPY . /dst`` creates them empty.

The Dockerfile and the ignore file always reach the builder; ``ContextEntry.copied`` says
whether ``COPY . /dst`` sees them too.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tomllib
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Literal

from pathspec import Pattern
from pathspec.util import register_pattern

from hubguard.detect.rules import builtin_rules_dir
from hubguard.errors import InputError

BUILDERS = ("buildkit", "buildkit-20.10", "classic")
DEFAULT_BUILDER = "buildkit"
IGNORE_FILE_NAME = ".dockerignore"
DEFAULT_DOCKERFILE = "Dockerfile"

EntryKind = Literal["file", "symlink", "dir"]

# Go's unicode.IsSpace, which strings.TrimSpace uses: Python's isspace() minus \x1c-\x1f.
_GO_WHITESPACE = "".join(
    char for char in map(chr, range(0x3001)) if char.isspace() and char not in "\x1c\x1d\x1e\x1f"
)
# fsutil: an exception holding one of these cannot be answered by a path-prefix test.
_WILDCARD_CHARS = frozenset("*[]?^\\")
_GLOB_CHARS = frozenset("*?[]\\")
# Regexp metacharacters each generation escapes while translating a line.
_LEGACY_ESCAPES = frozenset(".$")
_MODERN_ESCAPES = frozenset(".+()|{}$")
# Go regexp's POSIX classes, valid only inside [...]; Python's re has none of them.
_POSIX_CLASSES = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7f",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}


_NEEDS_CLEANING = re.compile(r"(?:^|/)\.\.?(?:/|$)|//|./$")


def go_clean(path: str) -> str:
    """Go's ``filepath.Clean`` on Unix (``os.path.normpath`` keeps a leading ``//``; Go does not)."""
    if path and path != "/" and not _NEEDS_CLEANING.search(path):
        return path  # already clean: the common case, and big ignore files have many lines
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part != "..":
            parts.append(part)
        elif parts and parts[-1] != "..":
            parts.pop()
        elif not rooted:
            parts.append("..")
    cleaned = "/".join(parts)
    if rooted:
        return "/" + cleaned
    return cleaned or "."


def _go_trim_space(text: str) -> str:
    return text.strip(_GO_WHITESPACE)


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class IgnoreLine:
    """One pattern as Docker reads it, and the 1-based line of the file it came from."""

    line: int
    pattern: str


def parse_dockerignore(text: str, source: str = IGNORE_FILE_NAME) -> list[IgnoreLine]:
    """Docker's ``ReadAll``, keeping line numbers; a bad line is an ``InputError`` naming it.

    BOM stripped; a line is a comment only when ``#`` is its very first character; blanks
    trimmed; ``!`` kept in front of the cleaned pattern; one leading ``/`` dropped.
    """
    patterns: list[IgnoreLine] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        if number == 1:
            raw = raw.removeprefix("\ufeff")
        raw = raw.removesuffix("\r")  # bufio.ScanLines drops one trailing CR
        if raw.startswith("#"):
            continue
        pattern = _go_trim_space(raw)
        if not pattern:
            continue
        exception = pattern.startswith("!")
        if exception:
            pattern = _go_trim_space(pattern[1:])
        if pattern:
            pattern = go_clean(pattern)
            if len(pattern) > 1 and pattern.startswith("/"):
                pattern = pattern[1:]
        if exception:
            pattern = "!" + pattern
        try:
            docker_pattern(pattern, False)
        except InputError as exc:
            raise InputError(f"{source} line {number}: {exc}") from None
        patterns.append(IgnoreLine(number, pattern))
    return patterns


def read_dockerignore(text: str) -> list[str]:
    """The patterns of a .dockerignore, exactly as Docker's ``ReadAll`` returns them."""
    return [line.pattern for line in parse_dockerignore(text)]


# --- one pattern --------------------------------------------------------------------------


class DockerPattern(Pattern):
    """One .dockerignore line compiled the way Docker compiles it, as a pathspec ``Pattern``.

    ``include`` follows pathspec: True for an excluding line (a match puts the path in the
    ignored set), False for a ``!`` exception. ``match_file`` answers for this line alone
    whether it covers the path, i.e. matches the path or one of its parent directories, so
    ``PathSpec.from_lines("dockerignore", read_dockerignore(text), backend="simple")`` is
    Docker's ``MatchesOrParentMatches`` (pathspec's RE2 backend only takes regex patterns).
    ``legacy`` selects Docker 20.10's regexp translation.
    """

    __slots__ = ("_kind", "_literal", "_regex", "_source", "components", "exclusion", "lead", "text")

    def __init__(self, pattern: str, *, legacy: bool = False) -> None:
        text = go_clean(_go_trim_space(pattern))
        exclusion = text.startswith("!")
        if exclusion:
            if len(text) == 1:
                raise InputError('illegal exclusion pattern "!" (an exception needs a path)')
            text = text[1:]
        problem = _glob_syntax_error(text)
        if problem:
            raise InputError(f"invalid pattern: {problem}")  # the line's text is input: never echoed
        super().__init__(not exclusion)
        self.exclusion = exclusion
        self.text = text
        self.components = text.count("/") + 1
        self._kind, self._literal, self._source = _compile(text, legacy)
        self._regex: _Regex | None = None
        if self._source and _needs_checking(text):
            self._regex = _linear_regex(self._source, text)  # classes and escapes: may not compile
        # The literal text every match starts with (up to the first wildcard): what the index
        # of a whole ignore file files this line under.
        self.lead = _leading_literal(text) if self._kind == "regex" else ""

    def __repr__(self) -> str:
        return f"DockerPattern({'!' * self.exclusion + self.text!r})"

    def matches(self, path: str) -> bool:
        """Docker's per-line test of one slash-separated path, without parent directories."""
        if self._kind == "exact":
            return path == self._literal
        if self._kind == "prefix":
            return path.startswith(self._literal)
        if self._kind == "suffix":
            return path.endswith(self._literal) or (
                self._literal.startswith("/") and path == self._literal[1:]
            )
        if self._regex is None:
            self._regex = _linear_regex(self._source, self.text)
        return self._regex.search(_for_regex(path)) is not None

    def match_file(self, file: str) -> bool | None:
        """pathspec hook: True when this line covers ``file`` or one of its parent directories."""
        if self.matches(file):
            return True
        parts = file.split("/")
        for depth in range(1, len(parts)):
            if self.matches("/".join(parts[:depth])):
                return True
        return None


register_pattern("dockerignore", DockerPattern)


def _glob_syntax_error(pattern: str) -> str | None:
    """What Go's ``filepath.Match`` rejects (Docker validates every line with it), or None."""
    if "[" not in pattern and "\\" not in pattern:
        return None
    position, length = 0, len(pattern)
    while position < length:
        char = pattern[position]
        if char == "\\":
            if position + 1 >= length:
                return "trailing backslash"
            position += 2
        elif char == "[":
            position += 1
            if position < length and pattern[position] == "^":
                position += 1
            ranges = 0
            while not (position < length and pattern[position] == "]" and ranges):
                position, problem = _class_character(pattern, position)
                if problem:
                    return problem
                if pattern[position] == "-":
                    position, problem = _class_character(pattern, position + 1)
                    if problem:
                        return problem
                ranges += 1
            position += 1
        else:
            position += 1
    return None


def _class_character(pattern: str, position: int) -> tuple[int, str | None]:
    """Go's ``getEsc``: one possibly escaped class character, which may not end the pattern."""
    if position >= len(pattern) or pattern[position] in "-]":
        return position, "bad character class"
    if pattern[position] == "\\":
        position += 1
        if position >= len(pattern):
            return position, "trailing backslash in character class"
    position += 1
    if position >= len(pattern):
        return position, "unterminated character class"
    return position, None


def _compile(text: str, legacy: bool) -> tuple[str, str, str]:
    """(kind, literal, regex body) the way patternmatcher (or 20.10's fileutils) builds a line.

    kind is "exact", "prefix" (``foo/**``), "suffix" (``**/foo``) or "regex"; Docker 20.10
    only ever builds a regexp.
    """
    if not legacy and not _GLOB_CHARS.intersection(text):
        return "exact", text, ""  # most lines of a big ignore file: no need to translate
    escapes = _LEGACY_ESCAPES if legacy else _MODERN_ESCAPES
    go_regex: list[str] = []
    kind = "exact"
    position, length, index = 0, len(text), 0
    while position < length:
        char = text[position]
        position += 1
        if char == "*" and position < length and text[position] == "*":
            position += 1
            if position < length and text[position] == "/":
                position += 1
            if position < length:
                go_regex.append("(.*/)?")
                kind = "regex"
            elif kind == "exact" and not legacy:
                kind = "prefix"
            else:
                go_regex.append(".*")
                kind = "regex"
            if index == 0:
                kind = "suffix"
        elif char == "*":
            go_regex.append("[^/]*")
            kind = "regex"
        elif char == "?":
            go_regex.append("[^/]")
            kind = "regex"
        elif char in escapes:
            go_regex.append("\\" + char)
        elif char == "\\":
            # Validation guarantees a character follows the backslash.
            go_regex.append("\\" + text[position])
            position += 1
            kind = "regex"
        elif char in "[]":
            go_regex.append(char)
            kind = "regex"
        else:
            go_regex.append(char)
        index += 1
    if legacy:
        kind = "regex"
    if kind == "exact":
        return kind, text, ""
    if kind == "prefix":
        return kind, text[:-2], ""
    if kind == "suffix":
        return kind, text[2:], ""
    return kind, "", _go_regex_to_python("".join(go_regex))


# Linear-time matching: RE2 (Go's own regexp design) when it is installed; Python's ``re``
# only as a fallback, since it backtracks exponentially on lines such as ``**/a*a*a*a*b``.
_SURROGATES = {code: 0xFFFD for code in range(0xDC80, 0xDD00)}  # undecodable bytes -> U+FFFD, as Go


class _Regex:
    """An anchored regexp for one line, answering ``search(path)``."""

    def __init__(self, body: str) -> None:
        re2 = _re2()
        if re2 is not None:
            options = re2.Options()
            options.log_errors = False  # errors become one clear line, not log noise on stderr
            self._compiled = re2.compile("^" + body.translate(_SURROGATES) + "$", options)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # "[[" and "--" are literal in Go
                self._compiled = re.compile("^" + body + r"\Z", re.ASCII)
        self.search = self._compiled.search


def _linear_regex(body: str, text: str) -> _Regex:
    re2 = _re2()
    errors: tuple[type[BaseException], ...] = (re.error,) if re2 is None else (re2.error, re.error)
    try:
        return _Regex(body)
    except errors as exc:
        raise InputError(f"invalid pattern: {_regex_problem(exc)}") from None


def _regex_problem(exc: BaseException) -> str:
    text = exc.args[0] if exc.args else str(exc)
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)


def _needs_checking(text: str) -> bool:
    """Only a line's classes and escapes can fail to compile once translated; the rest (literals,
    ``*``, ``?``, ``**``) is valid by construction, so big ignore files compile lazily.
    Docker 20.10 leaves regexp operators unescaped, so those lines are checked too."""
    return any(char in text for char in "[\\+(){}|^")


def _for_regex(path: str) -> str:
    return path if path.isascii() else path.translate(_SURROGATES)


@cache
def _re2():  # type: ignore[no-untyped-def]
    if os.environ.get("HUBGUARD_PURE_PYTHON"):
        return None
    try:
        import re2
    except ImportError:
        return None
    return re2


def _leading_literal(text: str) -> str:
    """The characters every match starts with: those before the first wildcard, class, escape
    or regexp operator (Docker 20.10 leaves ``+``, ``(``, ``|``… unescaped); none with ``|``."""
    if "|" in text:
        return ""
    for position, char in enumerate(text):
        if char in "*?[\\^+(){}":
            return text[:position]
    return text


@cache
def docker_pattern(text: str, legacy: bool) -> DockerPattern:
    """One compiled line, shared by every matcher built from the same text (ignore files are
    compiled several times over: validation, the walk, the fix planner)."""
    return DockerPattern(text, legacy=legacy)


@lru_cache(maxsize=8)
def _compiled_lines(patterns: tuple[str, ...], legacy: bool) -> tuple[list[DockerPattern], _Index]:
    """A whole ignore file's lines and their index, built once however many matchers ask."""
    compiled = [docker_pattern(pattern, legacy) for pattern in patterns if _go_trim_space(pattern)]
    return compiled, _Index(compiled)


class _Index:
    """Which lines match a path, without trying every line: exact lines by the path, prefix and
    suffix lines by the path's own prefixes and suffixes, regexp lines by their leading literal.
    A 100,000-line ignore file costs a few dictionary look-ups per path."""

    def __init__(self, patterns: Sequence[DockerPattern]) -> None:
        self.patterns = patterns
        self.buckets: dict[str, dict[str, list[int]]] = {"exact": {}, "prefix": {}, "suffix": {}, "regex": {}}
        for position, pattern in enumerate(patterns):
            key = pattern.lead if pattern._kind == "regex" else pattern._literal
            self.buckets[pattern._kind].setdefault(key, []).append(position)
        self.lengths = {kind: sorted({len(key) for key in bucket}) for kind, bucket in self.buckets.items()}

    def matching(self, path: str) -> set[int]:
        """Positions of the lines that match ``path`` itself (``DockerPattern.matches``)."""
        found = set(self.buckets["exact"].get(path, ()))
        size = len(path)
        prefix, suffix, regex = self.buckets["prefix"], self.buckets["suffix"], self.buckets["regex"]
        for length in self.lengths["prefix"]:
            if length <= size:
                found.update(prefix.get(path[:length], ()))
        for length in self.lengths["suffix"]:
            if length <= size:
                found.update(suffix.get(path[size - length :], ()))
        found.update(suffix.get("/" + path, ()))  # ``**/foo`` also matches ``foo`` itself
        for length in self.lengths["regex"]:
            if length <= size:
                for position in regex.get(path[:length], ()):
                    if self.patterns[position].matches(path):
                        found.add(position)
        return found


def _go_regex_to_python(go_regex: str) -> str:
    """Go RE2 and Python ``re`` read this subset alike except POSIX classes; translate those."""
    out: list[str] = []
    position, length = 0, len(go_regex)
    in_class = False
    while position < length:
        char = go_regex[position]
        if char == "\\":
            out.append(go_regex[position : position + 2])
            position += 2
            continue
        if not in_class and char == "[":
            in_class = True
            out.append(char)
            position += 1
            if go_regex.startswith("^", position):
                out.append("^")
                position += 1
            if go_regex.startswith("]", position):  # a leading "]" is a literal in both
                out.append("\\]")
                position += 1
            continue
        if in_class and go_regex.startswith("[:", position):
            end = go_regex.find(":]", position + 2)
            name = go_regex[position + 2 : end] if end != -1 else ""
            if name in _POSIX_CLASSES:
                out.append(_POSIX_CLASSES[name])
                position = end + 2
                continue
        if in_class and char == "]":
            in_class = False
        elif in_class and char == "[":
            char = "\\["
        out.append(char)
        position += 1
    return "".join(out)


# --- a whole ignore file ------------------------------------------------------------------


@dataclass(frozen=True)
class _Semantics:
    """What differs between builder generations (see the module docstring)."""

    legacy_matcher: bool
    sends_entered_dirs: bool
    per_dockerfile_ignore: bool
    build_files_as_exceptions: bool


_SEMANTICS = {
    "buildkit": _Semantics(False, False, True, False),
    "buildkit-20.10": _Semantics(True, True, True, False),
    "classic": _Semantics(True, False, False, True),
}

MatchState = frozenset[int] | None  # the lines that matched a directory, for its children


def _check_builder(builder: str) -> _Semantics:
    try:
        return _SEMANTICS[builder]
    except KeyError:
        raise InputError(f"unknown builder {builder!r} (choose from {', '.join(BUILDERS)})") from None


class DockerIgnore:
    """A compiled ignore file that answers like one builder generation would."""

    def __init__(self, patterns: Iterable[str], builder: str = DEFAULT_BUILDER) -> None:
        self.builder = builder
        self._semantics = _check_builder(builder)
        legacy = self._semantics.legacy_matcher
        self.patterns, self._index = _compiled_lines(tuple(patterns), legacy)
        exceptions = [pattern for pattern in self.patterns if pattern.exclusion]
        prefixes = [
            (pattern.text if legacy else _without_trailing_glob(pattern.text)) for pattern in exceptions
        ]
        self._exception_prefixes = tuple(prefix + "/" for prefix in prefixes)
        # Current fsutil gives up on prefix tests and enters every excluded directory.
        self._enter_every_excluded_dir = not legacy and any(
            _WILDCARD_CHARS.intersection(prefix) for prefix in prefixes
        )

    def step(self, path: str, parent: MatchState = None) -> tuple[bool, MatchState]:
        """Is ``path`` matched, given its parent's state (None at the top)? Returns the state
        to pass to its children. This is the builder's own per-path test, no walk logic."""
        if self._semantics.legacy_matcher:
            return self._first_components_match(path), None
        return self._parent_results_match(path, parent)

    def matches(self, path: str) -> bool:
        """The builder's matcher on one path taken alone (what Docker asks about the Dockerfile)."""
        if self._semantics.legacy_matcher:
            return self._first_components_match(path)
        return self._parent_results_match(path, None)[0]

    def may_reinclude_below(self, directory: str) -> bool:
        """Must the walk enter this excluded directory, because an exception may apply inside?"""
        if not self._exception_prefixes:
            return False
        if self._enter_every_excluded_dir:
            return True
        return any(prefix.startswith(directory + "/") for prefix in self._exception_prefixes)

    def excludes(self, path: str) -> bool:
        """Would the builder leave ``path`` (relative, slash-separated) out of the context?"""
        parts = go_clean(path).split("/")
        state: MatchState = None
        excluded = False
        for depth in range(1, len(parts) + 1):
            prefix = "/".join(parts[:depth])
            excluded, state = self.step(prefix, state)
            if excluded and depth < len(parts) and not self.may_reinclude_below(prefix):
                return True
        return excluded

    def _first_components_match(self, path: str) -> bool:
        """Docker 20.10 ``PatternMatcher.Matches``: the path, or the first N parent components."""
        parent = path.rpartition("/")[0]
        parent_parts = parent.split("/") if parent else []
        candidates = self._index.matching(path)
        for count in range(1, len(parent_parts) + 1):
            prefix_matches = self._index.matching("/".join(parent_parts[:count]))
            candidates.update(i for i in prefix_matches if self.patterns[i].components == count)
        matched = False
        for position in sorted(candidates):
            pattern = self.patterns[position]
            if pattern.exclusion == matched:
                matched = not pattern.exclusion
        return matched

    def _parent_results_match(self, path: str, parent: MatchState) -> tuple[bool, MatchState]:
        """patternmatcher ``MatchesUsingParentResults``; the state is the set of lines that
        matched (skipped lines count as unmatched), so only matching lines are visited."""
        if parent is None:  # no parent results: a line covers the path or one of its parents
            parts = path.split("/")
            candidates: set[int] = set()
            for depth in range(1, len(parts) + 1):
                candidates |= self._index.matching("/".join(parts[:depth]))
        else:
            candidates = self._index.matching(path) | parent
        matched = False
        state = set()
        for position in sorted(candidates):
            pattern = self.patterns[position]
            if not (parent is not None and position in parent) and pattern.exclusion != matched:
                continue
            state.add(position)
            matched = not pattern.exclusion
        return matched, frozenset(state)


def _without_trailing_glob(text: str) -> str:
    return text.removesuffix("/**").removesuffix("/*")


# --- the build context --------------------------------------------------------------------


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
    if _check_builder(builder).per_dockerfile_ignore and dockerfile:
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
    semantics = _check_builder(builder)
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


def _walk(root: Path, matcher: DockerIgnore, semantics: _Semantics, listing: ContextListing) -> None:
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
    semantics: _Semantics,
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


def _add_parent_dirs(listing: ContextListing, semantics: _Semantics) -> None:
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


# --- coverage lint ------------------------------------------------------------------------


@cache
def defensive_patterns() -> frozenset[str]:
    """Entries people keep "just in case" (rules/dockerignore.toml); never flagged unused."""
    path = builtin_rules_dir() / "dockerignore.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return frozenset(go_clean(entry).lstrip("/") for entry in data["defensive"]["patterns"])
    except (OSError, KeyError, TypeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"rule pack {path}: {exc}") from None


def unused_patterns(
    lines: Sequence[IgnoreLine],
    listing: ContextListing,
    defensive: Iterable[str] | None = None,
) -> list[IgnoreLine]:
    """Lines that match nothing in the context, defensive entries aside (a LOW-severity lint).

    The walk does not enter excluded directories, so a line that could only match inside
    one is given the benefit of the doubt.
    """
    keep = defensive_patterns() if defensive is None else frozenset(defensive)
    seen = [entry.path for entry in (*listing.entries, *listing.excluded)]
    unentered = [entry.path for entry in listing.excluded if entry.kind == "dir"]
    patterns = [docker_pattern(line.pattern, False) for line in lines]
    index = _Index(patterns)
    used: set[int] = set()
    for path in seen:
        used |= index.matching(path)
    unused = []
    for position, (line, pattern) in enumerate(zip(lines, patterns, strict=True)):
        if position in used or pattern.text in keep:
            continue
        if any(_may_match_below(pattern.text, directory) for directory in unentered):
            continue
        unused.append(line)
    return unused


def _may_match_below(text: str, directory: str) -> bool:
    """Could a line match something inside ``directory``, which the walk did not enter?"""
    directory_parts = directory.split("/")
    for index, component in enumerate(text.split("/")):
        if index >= len(directory_parts) or "**" in component:
            return True
        try:
            # A leading "!" inside a path is a literal, not an exception.
            component_pattern = docker_pattern("\\" + component if component[:1] == "!" else component, False)
        except InputError:
            return True
        if not component_pattern.matches(directory_parts[index]):
            return False
    return False
