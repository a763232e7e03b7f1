"""A whole .dockerignore, answering like one builder generation would (see the package
docstring for how ``buildkit``, ``buildkit-20.10`` and ``classic`` differ).

An ignore file of 100,000 lines is tested against every path of the context, so no path tries
every line: :class:`LineIndex` files each line under the text a match must start or end with,
and a path costs a few dictionary look-ups plus the few regexps filed under its own text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from hubguard.dockerignore import BUILDERS, DEFAULT_BUILDER
from hubguard.dockerignore.pattern import DockerPattern, _go_trim_space, docker_pattern, go_clean
from hubguard.errors import InputError

# fsutil: an exception holding one of these cannot be answered by a path-prefix test.
_WILDCARD_CHARS = frozenset("*[]?^\\")


@dataclass(frozen=True)
class Semantics:
    """What differs between builder generations (see the package docstring)."""

    legacy_matcher: bool
    sends_entered_dirs: bool
    per_dockerfile_ignore: bool
    build_files_as_exceptions: bool


_SEMANTICS = {
    "buildkit": Semantics(False, False, True, False),
    "buildkit-20.10": Semantics(True, True, True, False),
    "classic": Semantics(True, False, False, True),
}

MatchState = frozenset[int] | None  # the lines that matched a directory, for its children


def check_builder(builder: str) -> Semantics:
    """The semantics of ``builder``; an unknown name is one clear input error."""
    try:
        return _SEMANTICS[builder]
    except KeyError:
        raise InputError(f"unknown builder {builder!r} (choose from {', '.join(BUILDERS)})") from None


class LineIndex:
    """Which lines match a path, without trying every line: exact lines by the path, prefix and
    suffix lines by the path's own prefixes and suffixes, regexp lines by the literal text all
    their matches start (or end) with; only a line with neither is tried on every path."""

    def __init__(self, patterns: Sequence[DockerPattern]) -> None:
        self.patterns = patterns
        self.buckets: dict[str, dict[str, list[int]]] = {
            "exact": {},
            "prefix": {},
            "suffix": {},
            "lead": {},
            "tail": {},
        }
        self.anywhere: list[int] = []
        for position, pattern in enumerate(patterns):
            if pattern.kind != "regex":
                kind, key = pattern.kind, pattern.literal
            elif pattern.lead or pattern.tail:
                longer = len(pattern.lead) >= len(pattern.tail)
                kind, key = ("lead", pattern.lead) if longer else ("tail", pattern.tail)
            else:
                self.anywhere.append(position)
                continue
            self.buckets[kind].setdefault(key, []).append(position)
        self.lengths = {kind: sorted({len(key) for key in bucket}) for kind, bucket in self.buckets.items()}

    def matching(self, path: str) -> set[int]:
        """Positions of the lines that match ``path`` itself (``DockerPattern.matches``)."""
        found = set(self.buckets["exact"].get(path, ()))
        size = len(path)
        for length in self.lengths["prefix"]:
            if length > size:
                break
            found.update(self.buckets["prefix"].get(path[:length], ()))
        suffix = self.buckets["suffix"]
        for length in self.lengths["suffix"]:
            if length > size:
                break
            found.update(suffix.get(path[size - length :], ()))
        found.update(suffix.get("/" + path, ()))  # ``**/foo`` also matches ``foo`` itself
        candidates = list(self.anywhere)
        for length in self.lengths["lead"]:
            if length > size:
                break
            candidates.extend(self.buckets["lead"].get(path[:length], ()))
        for length in self.lengths["tail"]:
            if length > size:
                break
            candidates.extend(self.buckets["tail"].get(path[size - length :], ()))
        found.update(position for position in candidates if self.patterns[position].matches(path))
        return found


@lru_cache(maxsize=8)
def _compiled_lines(patterns: tuple[str, ...], legacy: bool) -> tuple[list[DockerPattern], LineIndex]:
    """A whole ignore file's lines and their index, built once however many matchers ask."""
    compiled = [docker_pattern(pattern, legacy) for pattern in patterns if _go_trim_space(pattern)]
    return compiled, LineIndex(compiled)


def line_index(patterns: Iterable[str]) -> LineIndex:
    """The index of an ignore file's lines read the current way (as the lint of unused lines
    reads them), shared with a ``buildkit`` matcher of the same lines."""
    return _compiled_lines(tuple(patterns), False)[1]


class DockerIgnore:
    """A compiled ignore file that answers like one builder generation would."""

    def __init__(self, patterns: Iterable[str], builder: str = DEFAULT_BUILDER) -> None:
        self.builder = builder
        self.semantics = check_builder(builder)
        legacy = self.semantics.legacy_matcher
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
        if self.semantics.legacy_matcher:
            return self._first_components_match(path), None
        return self._parent_results_match(path, parent)

    def matches(self, path: str) -> bool:
        """The builder's matcher on one path taken alone (what Docker asks about the Dockerfile)."""
        if self.semantics.legacy_matcher:
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
