"""The Dockerfile parser: what BuildKit reads, line for line."""

from __future__ import annotations

import pytest

from hubguard.lint.dockerfile import DockerfileError, assignments, parse


def test_directives_only_at_the_top_and_escape_changes_continuations():
    df = parse("# syntax=docker/dockerfile:1\n# escape=`\nFROM alpine\nRUN echo a `\n  b\n# escape=\\\n")
    assert df.directives == {"syntax": "docker/dockerfile:1", "escape": "`"}
    (_, run) = df.instructions
    assert (run.keyword, run.text, run.line, run.end_line) == ("RUN", "echo a   b", 4, 5)


def test_a_directive_after_a_comment_is_only_a_comment():
    df = parse("# a comment\n# escape=`\nFROM alpine\nRUN echo a `\n")
    assert df.escape == "\\" and df.directives == {}


def test_continuations_skip_comment_and_empty_lines():
    df = parse("FROM alpine\nRUN a \\\n  # note\n\n  && b\nENV X=1\n")
    run = df.instructions[1]
    assert run.text == "a   && b"
    assert [number for number, _ in run.parts] == [2, 5]
    assert df.instructions[2].line == 6


def test_heredocs_are_bodies_not_instructions():
    df = parse(
        "FROM alpine\nRUN <<EOF\nFROM not-an-instruction\nEOF\n"
        "COPY <<-'CONF' /etc/app.conf\n\tkey=$X\n\tCONF\nUSER app\n"
    )
    keywords = [i.keyword for i in df.instructions]
    assert keywords == ["FROM", "RUN", "COPY", "USER"]
    run, copy = df.instructions[1], df.instructions[2]
    assert run.heredocs[0].body == "FROM not-an-instruction" and run.heredocs[0].first_line == 3
    assert copy.heredocs[0].body == "key=$X" and copy.heredocs[0].expands is False
    assert copy.end_line == 7 and df.instructions[3].line == 8


def test_unterminated_heredoc_is_an_error():
    with pytest.raises(DockerfileError, match="heredoc <<EOF is never terminated"):
        parse("FROM alpine\nRUN <<EOF\necho\n")


def test_json_and_shell_forms_and_flags():
    df = parse(
        'FROM alpine\nRUN --mount=type=secret,id=a,env=A --network=none ["sh", "-c", "echo $A"]\n'
        'COPY --from=build --chown=1:1 ["a b", "/x"]\nCMD [not json\n'
    )
    run, copy, cmd = df.instructions[1:]
    assert run.flags == [("mount", "type=secret,id=a,env=A"), ("network", "none")]
    assert run.json_args == ["sh", "-c", "echo $A"]
    assert copy.flag("from") == "build" and copy.args == ["a b", "/x"]
    assert cmd.json_args is None and cmd.args == ["[not", "json"]


def test_stages_names_and_the_final_lineage():
    df = parse("FROM golang AS Build\nFROM build AS test\nFROM alpine AS tools\nFROM test\n")
    assert [s.name for s in df.stages] == ["build", "test", "tools", ""]
    assert df.stage_named("BUILD").index == 0 and df.stage_named("2").index == 2
    assert df.final_lineage() == {0, 1, 3}
    assert [i.stage for i in df.instructions] == [0, 1, 2, 3]


def test_arg_env_and_label_pairs():
    df = parse('FROM a\nARG A B=1\nENV C="x y" D=2\nENV LEGACY some value\nLABEL "k"=v\n')
    assert [assignments(i) for i in df.instructions[1:]] == [
        [("A", None), ("B", "1")],
        [("C", "x y"), ("D", "2")],
        [("LEGACY", "some value")],
        [("k", "v")],
    ]


def test_pragmas_attach_to_the_next_instruction():
    df = parse("FROM a\n# hubguard: ignore=r1,r2 because\nARG X\nARG Y\n")
    assert [(p.rules, p.reason, p.line) for p in df.instructions[1].pragmas] == [(("r1", "r2"), "because", 2)]
    assert df.instructions[2].pragmas == []


def test_crlf_and_bom():
    df = parse("\ufeffFROM a\r\nRUN b \\\r\n c\r\n")
    assert df.instructions[1].text == "b  c"
