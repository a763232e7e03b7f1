"""One .dockerignore line as Docker reads and compiles it: ``ReadAll``'s parsing, Go's
``filepath.Match`` validation, and the glob-to-regexp translation each builder generation
does, matched in linear time (:mod:`hubguard.dockerignore.regexp`).

Big ignore files are the norm (generated lists of 100,000 lines), so a line costs a few string
tests to read: its kind (exact, prefix, suffix or regexp) and the literal text a match must start
or end with are found without translating it, and the regexp is built only for a line that the
index of a whole file (:mod:`hubguard.dockerignore.matcher`) asks to try.
"""

from __future__ import annotations

import re
from functools import cache
from typing import NamedTuple

from pathspec import Pattern
from pathspec.util import register_pattern

from hubguard.dockerignore.regexp import Regex, for_regex, go_regex_to_python, linear_regex
from hubguard.errors import InputError

IGNORE_FILE_NAME = ".dockerignore"

# Go's unicode.IsSpace, which strings.TrimSpace uses: Python's isspace() minus \x1c-\x1f.
_GO_WHITESPACE = "".join(
    char for char in map(chr, range(0x3001)) if char.isspace() and char not in "\x1c\x1d\x1e\x1f"
)
_GLOB_CHARS = frozenset("*?[]\\")
# Regexp metacharacters each generation escapes while translating a line.
_LEGACY_ESCAPES = frozenset(".$")
_MODERN_ESCAPES = frozenset(".+()|{}$")
# What can fail to compile once translated: escapes, classes other than plain lists of
# characters, and the operators Docker 20.10 leaves unescaped; literals, ``*``, ``?``, ``**`` and
# a class such as ``[ab]`` or ``[^.]`` are valid by construction, so most lines compile lazily.
_LEGACY_OPERATORS = frozenset("+(){}|^")
_PLAIN_CLASS = re.compile(r"\[\^?[^\]\[\\:\-]+\]")
# Where the literal text every match starts (or ends) with stops: a wildcard, class, escape or
# regexp operator (Docker 20.10 leaves ``+``, ``(``, ``{``… unescaped).
_LEAD = re.compile(r"[^*?\[\]\\^+(){}]*")
_TAIL = re.compile(r"[^*?\[\]\\^+(){}]*\Z")
_NEEDS_CLEANING = re.compile(r"(?:^|/)\.\.?(?:/|$)|//|./$")


def go_clean(path: str) -> str:
    """Go's ``filepath.Clean`` on Unix (``os.path.normpath`` keeps a leading ``//``; Go does not)."""
    if path[:1] not in ("", ".") and path[-1] != "/" and "//" not in path and "/." not in path:
        return path  # clean at a glance: the common case, and big ignore files have many lines
    if path and path != "/" and not _NEEDS_CLEANING.search(path):
        return path
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


class IgnoreLine(NamedTuple):
    """One pattern as Docker reads it, and the 1-based line of the file it came from (a tuple:
    an ignore file may have 100,000 of them)."""

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

    ``kind`` is how Docker tests the line: ``exact``, ``prefix`` (``foo/**``), ``suffix``
    (``**/foo``) or ``regex`` (Docker 20.10 builds a regexp of every line, so plain text is its
    only other kind: exact); ``literal`` is the text an exact, prefix or suffix line compares;
    ``lead`` and ``tail`` are the literal text every match of a regexp line starts and ends
    with (what the index files the line under).
    """

    __slots__ = ("_legacy", "_regex", "components", "exclusion", "kind", "lead", "literal", "tail", "text")

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
        self._legacy = legacy
        self.kind, self.literal = _kind(text, legacy)
        self.lead = self.tail = ""
        self._regex: Regex | None = None
        if self.kind == "regex":
            if "|" not in text:  # an alternation: no literal every match must hold
                self.lead = _LEAD.match(text).group()  # type: ignore[union-attr]
                if text[len(self.lead) : len(self.lead) + 1] == "{":
                    self.lead = self.lead[:-1]  # Docker 20.10: ``b{0}`` may leave the b out
                tail = _TAIL.search(text)
                start = tail.start()  # type: ignore[union-attr]
                # ``\\b`` is Go's word boundary, not a b; ``**/b`` matches ``b`` itself.
                escaped = text[start - 1 : start] == "\\" or text[start - 2 : start + 1] == "**/"
                self.tail = text[start + escaped :]
            if _may_not_compile(text, legacy):
                self._regex = linear_regex(_regex_body(text, legacy))  # say so now, naming the line

    def __repr__(self) -> str:
        return f"DockerPattern({'!' * self.exclusion + self.text!r})"

    def matches(self, path: str) -> bool:
        """Docker's per-line test of one slash-separated path, without parent directories."""
        if self.kind == "exact":
            return path == self.literal
        if self.kind == "prefix":
            return path.startswith(self.literal)
        if self.kind == "suffix":
            return path.endswith(self.literal) or (self.literal.startswith("/") and path == self.literal[1:])
        if self._regex is None:
            self._regex = linear_regex(_regex_body(self.text, self._legacy))
        return self._regex.search(for_regex(path)) is not None

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


@cache
def docker_pattern(text: str, legacy: bool) -> DockerPattern:
    """One compiled line, shared by every matcher built from the same text (ignore files are
    compiled several times over: validation, the walk, the fix planner)."""
    return DockerPattern(text, legacy=legacy)


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


def _may_not_compile(text: str, legacy: bool) -> bool:
    if "\\" in text or (legacy and not _LEGACY_OPERATORS.isdisjoint(text)):
        return True
    return "[" in text and "[" in _PLAIN_CLASS.sub("", text)


def _kind(text: str, legacy: bool) -> tuple[str, str]:
    """(kind, literal) as patternmatcher decides them, from string tests alone: a line without
    wildcards is exact, ``**`` then plain text a suffix, plain text then ``**`` a prefix; any
    other line is a regexp. Docker 20.10 builds a regexp of every line, but one of plain text
    (no wildcard or operator; ASCII, so no undecodable byte) matches exactly that text."""
    if legacy:
        plain = text.isascii() and _GLOB_CHARS.isdisjoint(text) and _LEGACY_OPERATORS.isdisjoint(text)
        return ("exact", text) if plain else ("regex", "")
    if _GLOB_CHARS.isdisjoint(text):
        return "exact", text
    if text.startswith("**") and _GLOB_CHARS.isdisjoint(text[2:]):
        return "suffix", text[2:]
    if text.endswith("**") and _GLOB_CHARS.isdisjoint(text[:-2]):
        return "prefix", text[:-2]
    return "regex", ""


def _regex_body(text: str, legacy: bool) -> str:
    """The regexp patternmatcher (or Docker 20.10's fileutils) builds for a line, unanchored."""
    escapes = _LEGACY_ESCAPES if legacy else _MODERN_ESCAPES
    go_regex: list[str] = []
    position, length = 0, len(text)
    while position < length:
        char = text[position]
        position += 1
        if char == "*" and position < length and text[position] == "*":
            position += 1
            if position < length and text[position] == "/":
                position += 1
            go_regex.append("(.*/)?" if position < length else ".*")
        elif char == "*":
            go_regex.append("[^/]*")
        elif char == "?":
            go_regex.append("[^/]")
        elif char in escapes:
            go_regex.append("\\" + char)
        elif char == "\\":
            # Validation guarantees a character follows the backslash.
            go_regex.append("\\" + text[position])
            position += 1
        else:
            go_regex.append(char)
    return go_regex_to_python("".join(go_regex))
