"""Docker's .dockerignore matching, rule by rule and per builder generation
(hubguard/dockerignore/matcher.py).

Expectations come from Docker's own code (moby/patternmatcher, fsutil, docker 20.10's
pkg/archive); tests/dockerignore/test_differential.py checks the same code against the
real engine.
"""

from __future__ import annotations

import pytest

from hubguard.dockerignore import BUILDERS
from hubguard.dockerignore.matcher import DockerIgnore
from hubguard.dockerignore.pattern import DockerPattern
from hubguard.errors import InputError

LEGACY_BUILDERS = ("classic", "buildkit-20.10")


def excluded(patterns: list[str], path: str, builder: str = "buildkit") -> bool:
    return DockerIgnore(patterns, builder).excludes(path)


@pytest.mark.parametrize("builder", BUILDERS)
def test_patterns_are_anchored_at_the_context_root(builder: str) -> None:
    assert excluded(["foo"], "foo", builder)
    assert not excluded(["foo"], "a/foo", builder)
    assert excluded(["a/foo"], "a/foo", builder)


@pytest.mark.parametrize("builder", BUILDERS)
def test_star_and_question_mark_stop_at_slashes(builder: str) -> None:
    assert excluded(["*.pem"], "key.pem", builder)
    assert not excluded(["*.pem"], "certs/key.pem", builder)
    assert excluded(["*/key.pem"], "certs/key.pem", builder)
    assert not excluded(["*/key.pem"], "a/certs/key.pem", builder)
    assert excluded(["a?c"], "abc", builder)
    assert not excluded(["a?c"], "a/c", builder)


@pytest.mark.parametrize("builder", BUILDERS)
def test_caret_negates_a_class_and_bang_does_not(builder: str) -> None:
    assert excluded(["x[^a]y"], "xby", builder)
    assert not excluded(["x[^a]y"], "xay", builder)
    # Go's regexp lets a negated class match "/" too.
    assert excluded(["x[^a]y"], "x/y", builder)
    assert excluded(["x[!a]y"], "x!y", builder)
    assert excluded(["x[!a]y"], "xay", builder)
    assert not excluded(["x[!a]y"], "xby", builder)


@pytest.mark.parametrize("builder", BUILDERS)
def test_double_star_spans_any_number_of_directories(builder: str) -> None:
    assert excluded(["**/key.pem"], "key.pem", builder)
    assert excluded(["**/key.pem"], "a/b/c/key.pem", builder)
    assert excluded(["a/**/b"], "a/b", builder)
    assert excluded(["a/**/b"], "a/x/y/b", builder)
    assert not excluded(["a/**/b"], "z/a/b", builder)


@pytest.mark.parametrize("builder", BUILDERS)
def test_a_matched_directory_excludes_its_subtree(builder: str) -> None:
    assert excluded(["node_modules"], "node_modules/pkg/index.js", builder)
    assert excluded(["build/"], "build/out/app", builder)
    matcher = DockerIgnore(["node_modules"], builder)
    assert not matcher.may_reinclude_below("node_modules")


@pytest.mark.parametrize("builder", BUILDERS)
def test_the_last_matching_line_wins(builder: str) -> None:
    assert not excluded(["*.md", "!README.md"], "README.md", builder)
    assert excluded(["!README.md", "*.md"], "README.md", builder)
    assert excluded(["*.md", "!README.md"], "CHANGES.md", builder)


@pytest.mark.parametrize("builder", BUILDERS)
def test_an_exception_re_includes_inside_an_excluded_directory(builder: str) -> None:
    patterns = ["secrets", "!secrets/public.pem"]
    assert not excluded(patterns, "secrets/public.pem", builder)
    assert excluded(patterns, "secrets/private.pem", builder)
    assert DockerIgnore(patterns, builder).may_reinclude_below("secrets")


def test_buildkit_follows_wildcard_exceptions_into_excluded_directories() -> None:
    patterns = ["secrets", "!**/public.pem"]
    assert not excluded(patterns, "secrets/public.pem", "buildkit")
    assert not excluded(patterns, "secrets/deep/public.pem", "buildkit")
    assert excluded(patterns, "secrets/private.pem", "buildkit")
    for builder in LEGACY_BUILDERS:
        assert excluded(patterns, "secrets/public.pem", builder)
        assert not DockerIgnore(patterns, builder).may_reinclude_below("secrets")


def test_docker_20_10_checks_only_the_first_parent_components() -> None:
    # "**/b" has two components, so inside the entered x/y/b only "x/y" is tried.
    patterns = ["**/b", "!x/y/b/keep"]
    for builder in LEGACY_BUILDERS:
        assert not excluded(patterns, "x/y/b/other", builder)
    assert excluded(patterns, "x/y/b/other", "buildkit")
    assert not excluded(patterns, "x/y/b/keep", "buildkit")


def test_docker_20_10_leaves_regexp_metacharacters_unescaped() -> None:
    for builder in LEGACY_BUILDERS:
        assert excluded(["a+b"], "aab", builder)
        assert not excluded(["a+b"], "a+b", builder)
        assert not excluded(["a^b"], "a^b", builder)
    assert excluded(["a+b"], "a+b", "buildkit")
    assert not excluded(["a+b"], "aab", "buildkit")
    assert excluded(["a^b"], "a^b", "buildkit")


def test_current_patternmatcher_reads_leading_double_star_as_a_suffix() -> None:
    assert excluded(["**foo"], "d/xfoo", "buildkit")
    assert not excluded(["**foo"], "d/xfoo", "classic")
    assert excluded(["**foo"], "d/foo", "classic")


def test_buildkit_keeps_fsutils_per_directory_match_results() -> None:
    # fsutil skips the third line for "a" (already excluded), so "a/b" never sees it.
    assert not excluded(["a", "!a/b", "a"], "a/b/f", "buildkit")
    assert excluded(["a", "!a/b", "a"], "a/b/f", "classic")


def test_escapes_and_posix_classes_follow_go() -> None:
    assert excluded(["s\\*r"], "s*r")
    assert not excluded(["s\\*r"], "star")
    assert excluded(["f[[:digit:]]"], "f7")
    assert not excluded(["f[[:digit:]]"], "fx")


def test_unknown_builder_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown builder 'kaniko'"):
        DockerIgnore([], "kaniko")


def _naive_matches(patterns: list[str], path: str, builder: str, parent: tuple[bool, ...] | None):
    """The builders' matchers written as Docker writes them: every line tried on every path (the
    reference the indexed matcher must agree with)."""

    legacy = builder != "buildkit"
    lines = [DockerPattern(p, legacy=legacy) for p in patterns]
    matched = False
    if legacy:
        parent_dir = path.rpartition("/")[0]
        parts = parent_dir.split("/") if parent_dir else []
        for line in lines:
            if line.exclusion != matched:
                continue
            hit = line.matches(path)
            if not hit and parts and line.components <= len(parts):
                hit = line.matches("/".join(parts[: line.components]))
            if hit:
                matched = not line.exclusion
        return matched, None
    state = []
    for index, line in enumerate(lines):
        hit = parent is not None and parent[index]
        if not hit:
            if line.exclusion != matched:
                state.append(False)
                continue
            hit = line.matches(path) if parent is not None else bool(line.match_file(path))
        state.append(hit)
        if hit:
            matched = not line.exclusion
    return matched, tuple(state)


@pytest.mark.parametrize("builder", ["buildkit", "buildkit-20.10"])
def test_the_indexed_matcher_agrees_with_trying_every_line(builder: str) -> None:
    import random

    rng = random.Random(20261130)
    names = ["a", "b", "ab", "x.y", "a+b", "aab", "*"]
    pieces = ["a", "b", "ab", "*", "?", "**", "[ab]", "x.y", "a+b", "\\*", "a*b"]
    for _ in range(400):
        patterns = []
        for _ in range(rng.randint(1, 6)):
            parts = [
                rng.choice(names)
                if rng.random() < 0.5
                else "".join(rng.choice(pieces) for _ in range(rng.randint(1, 2)))
                for _ in range(rng.randint(1, 3))
            ]
            patterns.append(("!" if rng.random() < 0.3 else "") + "/".join(parts))
        try:
            matcher = DockerIgnore(patterns, builder)
        except InputError:
            continue
        for _ in range(10):
            parts = [rng.choice(names) for _ in range(rng.randint(1, 4))]
            state, naive_state = None, None
            for depth in range(1, len(parts) + 1):
                prefix = "/".join(parts[:depth])
                got, state = matcher.step(prefix, state)
                want, naive_state = _naive_matches(patterns, prefix, builder, naive_state)
                assert got == want, (patterns, prefix)


@pytest.mark.parametrize("legacy", [False, True])
def test_the_line_index_finds_every_line_that_matches(legacy: bool) -> None:
    """Lines are filed under the literal text their matches start or end with: regexp operators
    Docker 20.10 leaves unescaped (``b{0}`` drops the b, ``\\b`` is a word boundary), ``**/``
    (which also matches nothing at all) and classes must never hide a line that matches."""
    import random

    from hubguard.dockerignore.matcher import LineIndex

    rng = random.Random(20261130)
    names = ["a", "b", "ab", "abc", "x.y", "a+b", "aab", "c0", "b1"]
    pieces = ["a", "b", "*", "?", "**", "**/", "[ab]", "x.y", "a+", "b{0}", "b{1,2}", "\\b", "(a|b)"]
    pieces += ["^a", "c$", "[[:digit:]]", "\\*", "a*b"]
    for _ in range(300):
        lines = []
        for _ in range(rng.randint(1, 8)):
            text = "/".join("".join(rng.choice(pieces) for _ in range(rng.randint(1, 3))) for _ in range(2))
            try:
                lines.append(DockerPattern(text.strip("/") or "a", legacy=legacy))
            except InputError:
                continue
        index = LineIndex(lines)
        for _ in range(20):
            path = "/".join(rng.choice(names) for _ in range(rng.randint(1, 3)))
            expected = {position for position, line in enumerate(lines) if line.matches(path)}
            assert index.matching(path) == expected, (lines, path)
