"""Reading a .dockerignore the way Docker's ``ReadAll`` does, and one line as a pathspec pattern
(hubguard/dockerignore/pattern.py)."""

from __future__ import annotations

import pathspec
import pytest

from hubguard.dockerignore.pattern import (
    DockerPattern,
    IgnoreLine,
    go_clean,
    parse_dockerignore,
    read_dockerignore,
)
from hubguard.errors import InputError


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
