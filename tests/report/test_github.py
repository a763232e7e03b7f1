"""GitHub Actions workflow commands: escaping as the Actions toolkit does, one annotation a finding."""

from __future__ import annotations

from hubguard.model import ScanReport, Severity
from hubguard.report import render
from hubguard.report.github import escape_data, escape_property
from tests.report.samples import (
    AWS_KEY,
    COPY_ENV,
    finding,
    noted_report,
    sample_report,
)


def test_github_escaping_matches_the_actions_toolkit() -> None:
    assert escape_data("100% done\r\nnext: a,b") == "100%25 done%0D%0Anext: a,b"
    assert escape_property("100% a,b:c\n") == "100%25 a%2Cb%3Ac%0A"
    assert escape_property("%3A") == "%253A"  # % first, or this would decode to ':'


def unescape_property(text: str) -> str:
    """The runner's decoding (ActionCommand.cs), applied in reverse order of escaping."""
    for escaped, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(escaped, char)
    return text


def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    """Split ``::name k=v,k=v::message`` the way the runner does."""
    assert line.startswith("::")
    head, message = line[2:].split("::", 1)
    name, _, props = head.partition(" ")
    properties = dict(pair.split("=", 1) for pair in props.split(",")) if props else {}
    return (name, {k: unescape_property(v) for k, v in properties.items()}, unescape_property(message))


def test_github_annotation_for_a_context_file_with_awkward_characters() -> None:
    report = ScanReport(
        findings=[
            finding(
                AWS_KEY,
                rule_id="aws-access-key",
                title="AWS key: 100% live, rotate",
                severity=Severity.HIGH,
                source="context",
                path="deploy/prod,eu:1.env",
                line=7,
                layer=None,
                target=".",
            )
        ]
    )
    [line] = render(report, "github").splitlines()
    assert line.startswith(
        "::error file=deploy/prod%2Ceu%3A1.env,line=7,"
        "title=hubguard high%3A AWS key%3A 100%25 live%2C rotate::AWS key: 100%25 live, rotate%0A"
    )
    assert "\n" not in line and "\r" not in line
    name, properties, message = parse_command(line)
    assert name == "error"
    assert properties == {
        "file": "deploy/prod,eu:1.env",
        "line": "7",
        "title": "hubguard high: AWS key: 100% live, rotate",
    }
    assert message.splitlines()[0] == "AWS key: 100% live, rotate"
    assert "where: deploy/prod,eu:1.env:7" in message


def test_github_severity_commands_and_in_image_paths() -> None:
    lines = render(sample_report(("layer sha256:ab: truncated",)), "github").splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == [
        "::error",
        "::error",
        "::warning",
        "::notice",
        "::error",
    ]
    _, properties, message = parse_command(lines[0])
    # An in-image path is not a repository file: it goes in the message, not in file=.
    assert "file" not in properties
    assert "where: /app/.env:3 in layer 1" in message
    assert f"created by: layer 1 {COPY_ENV.digest[:19]} {COPY_ENV.created_by}" in message
    assert parse_command(lines[-1]) == (
        "error",
        {"title": "hubguard: scan incomplete"},
        "layer sha256:ab: truncated",
    )


def test_github_notes_become_notices() -> None:
    lines = render(noted_report(), "github").splitlines()
    assert parse_command(lines[-1]) == ("notice", {"title": "hubguard: not scanned"}, noted_report().notes[0])
