"""Docker's .dockerignore rules, one by one, and the context walker on awkward trees.

Expectations come from Docker's own code (moby/patternmatcher, fsutil, docker 20.10's
pkg/archive); tests/test_dockerignore_differential.py checks the same code against the
real engine.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pathspec
import pytest

from hubguard.dockerignore import (
    BUILDERS,
    DockerIgnore,
    DockerPattern,
    IgnoreLine,
    find_ignore_file,
    go_clean,
    parse_dockerignore,
    read_dockerignore,
    unused_patterns,
    walk_context,
)
from hubguard.errors import InputError
from tests.fakes import expand

REPO_ROOT = Path(__file__).resolve().parent.parent
LEGACY_BUILDERS = ("classic", "buildkit-20.10")


def make_tree(root: Path, files: dict[str, str]) -> Path:
    """Create ``files`` (relative path → content; a trailing "/" makes an empty directory)."""
    for relative, content in files.items():
        path = root / relative
        if relative.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


def excluded(patterns: list[str], path: str, builder: str = "buildkit") -> bool:
    return DockerIgnore(patterns, builder).excludes(path)


# --- reading ------------------------------------------------------------------------------


def test_reading_follows_dockers_readall() -> None:
    text = (
        "\ufefffirst\n"
        "# a comment\n"
        " #not a comment\n"
        "   spaced   \n"
        "\n"
        "\t\n"
        "/rooted/file\n"
        "! /inverted/abs\n"
        "./a/../b/\n"
        "dir//x/./y\r\n"
        "/\n"
    )
    assert read_dockerignore(text) == [
        "first",
        "#not a comment",
        "spaced",
        "rooted/file",
        "!inverted/abs",
        "b",
        "dir/x/y",
        "/",
    ]


def test_reading_keeps_line_numbers() -> None:
    lines = parse_dockerignore("# header\n\n*.pem\n!public.pem\n")
    assert lines == [IgnoreLine(3, "*.pem"), IgnoreLine(4, "!public.pem")]


@pytest.mark.parametrize("line", ["!", "!   ", "!/"])
def test_a_bare_exception_is_an_error_naming_the_line(line: str) -> None:
    with pytest.raises(InputError, match=r"^\.dockerignore line 2: illegal exclusion pattern"):
        read_dockerignore(f"ok\n{line}\n")


@pytest.mark.parametrize("pattern", ["[", "a[b", "x[]", "[a-]", "[-a]", "trailing\\", "[\\"])
def test_an_invalid_glob_is_an_error_naming_the_line(pattern: str) -> None:
    with pytest.raises(InputError, match=r"^app\.dockerignore line 1: invalid pattern") as caught:
        parse_dockerignore(pattern, source="app.dockerignore")
    assert "\n" not in str(caught.value)


def test_go_clean_differs_from_normpath_where_go_does() -> None:
    assert go_clean("//a/./b/../c/") == "/a/c"
    assert go_clean("../../x") == "../../x"
    assert go_clean("/..") == "/"
    assert go_clean("a/..") == "."


# --- matching -----------------------------------------------------------------------------


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


def test_pattern_plugs_into_pathspec() -> None:
    # "simple": pathspec picks its RE2 backend when google-re2 is installed, and that one
    # only takes regex patterns; Docker patterns match with their own code.
    spec = pathspec.PathSpec.from_lines(
        "dockerignore", ["secrets", "!secrets/public.pem", "*.pem"], backend="simple"
    )
    assert isinstance(spec.patterns[0], DockerPattern)
    assert spec.match_file("secrets/token")
    assert not spec.match_file("secrets/public.pem")
    assert spec.match_file("key.pem")
    assert not spec.match_file("certs/key.pem")
    result = spec.check_file("key.pem")
    assert (result.include, result.index) == (True, 2)


# --- which ignore file --------------------------------------------------------------------


def test_per_dockerfile_ignore_file_replaces_the_root_one_for_buildkit(tmp_path: Path) -> None:
    make_tree(
        tmp_path,
        {".dockerignore": "a\n", "docker/app.Dockerfile": "", "docker/app.Dockerfile.dockerignore": "b\n"},
    )
    beside = tmp_path / "docker/app.Dockerfile.dockerignore"
    assert find_ignore_file(tmp_path, "docker/app.Dockerfile") == beside
    assert find_ignore_file(tmp_path, "docker/app.Dockerfile", "buildkit-20.10") == beside
    assert find_ignore_file(tmp_path, "docker/app.Dockerfile", "classic") == tmp_path / ".dockerignore"
    assert find_ignore_file(tmp_path, "docker/other.Dockerfile") == tmp_path / ".dockerignore"
    assert find_ignore_file(tmp_path / "docker", None) is None


# --- walking the context ------------------------------------------------------------------


def test_dockerfile_and_ignore_file_are_always_sent(tmp_path: Path) -> None:
    make_tree(
        tmp_path,
        {"Dockerfile": "FROM scratch\n", ".dockerignore": "Dockerfile\n.dockerignore\n", "app.py": ""},
    )
    for builder in BUILDERS:
        listing = walk_context(tmp_path, builder=builder)
        sent = {entry.path: entry.copied for entry in listing.entries}
        assert sent == {"Dockerfile": False, ".dockerignore": False, "app.py": True}, builder


def test_classic_keeps_the_directory_of_a_deleted_dockerfile(tmp_path: Path) -> None:
    make_tree(tmp_path, {"docker/Dockerfile": "", "docker/notes": "", ".dockerignore": "docker\n", "top": ""})
    classic = walk_context(tmp_path, "docker/Dockerfile", "classic").copied()
    assert classic == {".dockerignore": "file", "docker": "dir", "top": "file"}
    buildkit = walk_context(tmp_path, "docker/Dockerfile", "buildkit").copied()
    assert buildkit == {".dockerignore": "file", "top": "file"}


def test_symlinks_are_sent_as_links_and_never_followed(tmp_path: Path) -> None:
    outside = make_tree(tmp_path / "outside", {"id_rsa": expand("{b64:64}")})
    context = make_tree(tmp_path / "ctx", {"app.py": ""})
    (context / "keys").symlink_to(outside)
    (context / "dangling").symlink_to(tmp_path / "missing")
    listing = walk_context(context)
    assert listing.copied() == {"app.py": "file", "dangling": "symlink", "keys": "symlink"}
    assert listing.problems == []


def test_a_symlink_loop_is_a_note_and_the_walk_goes_on(tmp_path: Path) -> None:
    make_tree(tmp_path, {"z.txt": ""})
    (tmp_path / "loop_a").symlink_to("loop_b")
    (tmp_path / "loop_b").symlink_to("loop_a")
    listing = walk_context(tmp_path)
    assert listing.problems == []  # harmless: the builder sends the links, never follows them
    assert listing.notes == [
        "loop_a: symlink loop (sent as a link, not followed)",
        "loop_b: symlink loop (sent as a link, not followed)",
    ]
    assert set(listing.copied()) == {"loop_a", "loop_b", "z.txt"}


def test_fifos_and_sockets_are_reported_unless_excluded(tmp_path: Path) -> None:
    make_tree(tmp_path, {"run/": "", "z.txt": "", ".dockerignore": "ignored.fifo\n"})
    os.mkfifo(tmp_path / "pipe")
    os.mkfifo(tmp_path / "ignored.fifo")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "run/app.sock"))
        listing = walk_context(tmp_path)
    assert listing.problems == [
        "pipe: is a FIFO; not scanned (exclude it in the ignore file)",
        "run/app.sock: is a socket; not scanned (exclude it in the ignore file)",
    ]
    assert set(listing.copied()) == {".dockerignore", "run", "z.txt"}


def test_non_utf8_names_are_reported_and_still_listed(tmp_path: Path) -> None:
    make_tree(tmp_path, {"ok.txt": ""})
    (tmp_path / os.fsdecode(b"caf\xe9.env")).write_bytes(b"")
    listing = walk_context(tmp_path)
    assert listing.problems == ["caf\\xe9.env: file name is not valid UTF-8"]
    assert os.fsdecode(b"caf\xe9.env") in listing.copied()


def test_unreadable_directories_are_reported_and_excluded_ones_never_entered(tmp_path: Path) -> None:
    """Run as root without CAP_DAC_OVERRIDE so that mode 000 really locks a directory."""
    make_tree(
        tmp_path,
        {
            ".dockerignore": "node_modules\n",
            "locked/inner.txt": "",
            "node_modules/pkg/index.js": "",
            "src/app.py": "",
        },
    )
    (tmp_path / "src/private.key").write_text("")
    (tmp_path / "src/private.key").chmod(0)
    for locked in ("locked", "node_modules"):
        (tmp_path / locked).chmod(0)
    script = (
        "import json, sys; from hubguard.dockerignore import walk_context;"
        "listing = walk_context(sys.argv[1]);"
        "print(json.dumps([sorted(listing.copied()), listing.problems]))"
    )
    try:
        completed = subprocess.run(
            [
                "setpriv",
                "--inh-caps=-dac_override,-dac_read_search",
                "--bounding-set=-dac_override,-dac_read_search",
                sys.executable,
                "-c",
                script,
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            check=True,
        )
    finally:
        for locked in ("locked", "node_modules"):
            (tmp_path / locked).chmod(0o755)
    copied, problems = json.loads(completed.stdout)
    assert problems == [
        "locked: cannot list directory (permission denied)",
        "src/private.key: cannot read file (permission denied)",
    ]
    assert copied == [".dockerignore", "locked", "src", "src/app.py", "src/private.key"]


def test_an_invalid_ignore_file_is_a_problem_and_everything_counts_as_sent(tmp_path: Path) -> None:
    make_tree(tmp_path, {".dockerignore": "*.log\n[oops\n", "a.log": ""})
    listing = walk_context(tmp_path)
    assert listing.problems == [
        ".dockerignore line 2: invalid pattern: unterminated character class;"
        " Docker would refuse to build, treating every file as sent"
    ]
    assert set(listing.copied()) == {".dockerignore", "a.log"}


def test_a_missing_context_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^build context .*: no such file or directory$"):
        walk_context(tmp_path / "nope")


# --- coverage lint ------------------------------------------------------------------------


def test_unused_patterns_skip_defensive_entries_and_unentered_directories(tmp_path: Path) -> None:
    ignore = "node_modules\nnode_modules/**/*.map\n*.orig\n.git\n!keep.me\n/.env\n*.log\n"
    make_tree(tmp_path, {".dockerignore": ignore, "node_modules/x.js": "", "debug.log": ""})
    listing = walk_context(tmp_path)
    unused = unused_patterns(listing.patterns, listing)
    assert [(line.line, line.pattern) for line in unused] == [(3, "*.orig"), (5, "!keep.me")]
    everything = unused_patterns(listing.patterns, listing, defensive=())
    assert [line.pattern for line in everything] == ["*.orig", ".git", "!keep.me", ".env"]


def _naive_matches(patterns: list[str], path: str, builder: str, parent: tuple[bool, ...] | None):
    """The builders' matchers written as Docker writes them: every line tried on every path (the
    reference the indexed matcher must agree with)."""
    from hubguard.dockerignore import DockerPattern

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
