"""Path globs and file-name patterns, matched once per file of an image.

Two dialects: the rule packs' path globs (``**`` spans directories, ``*`` and ``?`` do not
cross ``/``, a pattern without a leading ``/`` matches at any depth) and shell-style name
patterns (``fnmatchcase``, for credential-file names). Both run for every file a scan reads,
so a set of name patterns is answered mostly without a regex (:class:`NamePatterns`).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable


class NamePatterns:
    """Several patterns over one name (a path's last component): exact names in a set,
    ``*suffix`` and ``prefix*`` as string tests, only the rest as one regex. As one regex
    alternation, every ``.*x`` branch ran over the whole name again (5 µs a file)."""

    def __init__(self, patterns: Iterable[str], wildcards: str, translate: Callable[[str], str]) -> None:
        def plain(text: str) -> bool:
            return not any(char in wildcards for char in text)

        self.exact: set[str] = set()
        suffixes: list[str] = []
        prefixes: list[str] = []
        rest: list[str] = []
        for pattern in patterns:
            if plain(pattern):
                self.exact.add(pattern)
            elif pattern.startswith("*") and plain(pattern[1:]):
                suffixes.append(pattern[1:])
            elif pattern.endswith("*") and plain(pattern[:-1]):
                prefixes.append(pattern[:-1])
            else:
                rest.append(pattern)
        self.suffixes, self.prefixes = tuple(suffixes), tuple(prefixes)
        self.regex = re.compile("|".join(f"(?:{translate(p)})" for p in rest)) if rest else None

    def __call__(self, name: str) -> bool:
        return (
            name in self.exact
            or name.endswith(self.suffixes)
            or name.startswith(self.prefixes)
            or (self.regex is not None and self.regex.fullmatch(name) is not None)
        )


def shell_names(patterns: Iterable[str]) -> NamePatterns:
    """Shell-style name patterns, case-sensitive: ``fnmatchcase`` of each, at once."""
    return NamePatterns(patterns, "*?[", fnmatch.translate)


_GLOB_CACHE: dict[str, re.Pattern[str]] = {}


class _Globs:
    """Several globs: the ones about a file's name alone are matched against its last
    component (a regex over the whole path backtracks at every ``/``), the rest against the
    path, as one regex."""

    def __init__(self, patterns: tuple[str, ...]) -> None:
        names = [_name_part(p) for p in patterns if _name_only(p)]
        paths = [p for p in patterns if not _name_only(p)]
        self.names = NamePatterns(names, "*?", lambda name: _glob_to_regex("/" + name))
        self.paths = _alternation(paths)
        # Text every match of a path glob contains: a path holding none of it is turned away
        # without the regex (which backtracks at every ``/``). None when a glob has no such text.
        literals = [_literal(p) for p in paths]
        self.literals = re.compile("|".join(map(re.escape, literals))) if paths and all(literals) else None

    def match(self, path: str) -> bool:
        path = path.lstrip("/")
        if self.names(path[path.rfind("/") + 1 :]):
            return True
        if self.paths is None or (self.literals is not None and self.literals.search(path) is None):
            return False
        return self.paths.fullmatch(path) is not None


def _literal(pattern: str) -> str:
    """The longest run of a glob without wildcards (``**/`` may match nothing, so it is one):
    every path it matches contains that run."""
    return max(re.split(r"\*\*/|[*?]+", pattern.strip("/")), key=len)


def _name_only(pattern: str) -> bool:
    """Whether a glob can only ever match a path by its last component."""
    rest = _name_part(pattern)
    anchored_below_root = pattern.startswith("/") and rest == pattern.strip("/")
    return bool(rest) and "/" not in rest and "**" not in rest and not anchored_below_root


def _name_part(pattern: str) -> str:
    """The glob without its leading ``/`` and ``**/`` parts (all of it, for a name-only glob)."""
    rest = pattern.strip("/")
    while rest.startswith("**/"):
        rest = rest[3:]
    return rest


def _alternation(patterns: list[str]) -> re.Pattern[str] | None:
    return re.compile("|".join(f"(?:{_glob_to_regex(p)})" for p in patterns)) if patterns else None


_GLOBS_CACHE: dict[tuple[str, ...], _Globs] = {}


def globs_match(path: str, patterns: tuple[str, ...]) -> bool:
    """Whether any of ``patterns`` matches; compiled once per tuple, as this runs per file."""
    globs = _GLOBS_CACHE.get(patterns)
    if globs is None:
        globs = _GLOBS_CACHE[patterns] = _Globs(patterns)
    return globs.match(path)


def glob_match(path: str, pattern: str) -> bool:
    """Match a slash path against a glob where ``**`` spans directories and ``*`` does not.

    A pattern without a leading ``/`` may match at any depth (like ``**/pattern``).
    """
    regex = _GLOB_CACHE.get(pattern)
    if regex is None:
        regex = _GLOB_CACHE[pattern] = re.compile(_glob_to_regex(pattern))
    return regex.fullmatch(path.lstrip("/")) is not None


def _glob_to_regex(pattern: str) -> str:
    anchored = pattern.startswith("/")
    pattern = pattern.strip("/")
    out = [] if anchored else ["(?:.*/)?"]
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)
