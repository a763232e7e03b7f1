"""The table, for people: one block per finding, widths, colour and hostile metadata shown literally."""

from __future__ import annotations

import sys

import pytest

from hubguard.model import LayerRef, ScanReport, Target
from hubguard.report import render
from tests.report.samples import (
    AWS_KEY,
    COPY_ENV,
    GITHUB_TOKEN,
    IMAGE,
    RULES,
    finding,
    noted_report,
    sample_report,
)


def test_table_one_block_per_finding_path_first_then_fields() -> None:
    text = render(sample_report(("layer sha256:ab: truncated",)), "table", color=False, rules=RULES, width=80)
    assert text.count("/app/.env\n") == 1  # no second rendering (a tree) of the same finding
    block = text[text.index("/app/.env\n") :].split("\n\n")[0].splitlines()
    assert block[:5] == [
        "/app/.env",
        "  critical  github-pat (GitHub personal access token)",
        f"  where     line 3 · layer 1 sha256:111111111111 {COPY_ENV.created_by}",
        "  state     deleted by layer 2 sha256:222222222222",
        f"  found     ghp_… · fingerprint {sample_report().findings[1].fingerprint[:12]}",
    ]
    advice = " ".join(" ".join(block[5:]).split())
    assert advice.startswith("next A later layer hides it, but layer 1 still ships it")
    assert "A classic GitHub token: full access to the owner's repositories." in advice
    assert f"image {IMAGE} (sha256:ffffffffffff) linux/amd64: 3 findings" in text
    assert "build context .: 1 finding" in text and "\ndeploy/prod,eu:1.env\n" in text
    assert "\nhistory[2]\n" in text and "\nConfig.Env\n" in text
    assert "scan incomplete: layer sha256:ab: truncated" in text
    wide = render(sample_report(("layer sha256:ab: truncated",)), "table", color=False, width=200)
    assert wide.rstrip().splitlines()[-1] == (
        "4 findings (1 critical, 1 high, 1 medium, 1 low), 2 findings suppressed by inline pragmas, "
        "scan INCOMPLETE: 1 problem"
    )


def test_table_at_80_columns_keeps_long_paths_whole_and_wraps_the_rest() -> None:
    path = "/app/backup/very/deep/directory/structure/that/goes/on/dump.sql.gz!dump/inner/file.sql"
    long_step = LayerRef(1, "sha256:" + "1" * 64, "RUN " + "x" * 300)
    report = ScanReport(
        [Target("image", IMAGE, layers=(long_step,))], [finding(GITHUB_TOKEN, layer=long_step, path=path)]
    )
    lines = render(report, "table", color=False, rules=RULES, width=80).splitlines()
    assert path in lines  # whole, on its own line, even beyond 80 columns
    assert all(len(line) <= 80 for line in lines if line != path and not line.startswith("1 finding"))
    assert any("RUN " + "x" * 20 in line and line.endswith("…") for line in lines)


def test_table_remediation_comes_from_the_built_in_rules_when_none_are_given() -> None:
    report = ScanReport(
        [Target("image", IMAGE)],
        [finding(AWS_KEY, rule_id="aws-access-key-id", title="AWS key", layer=None, source="config")],
    )
    text = " ".join(render(report, "table", color=False, width=80).split())
    assert "next Deactivate" not in text and "Deactivate and delete the key in IAM" in text


def test_table_marks_third_party_and_lists_notes() -> None:
    text = render(noted_report(), "table", color=False, width=200)
    assert "\n/usr/lib/python3/dist-packages/botocore/tests/creds.py\n" in text
    assert "present, third-party code (reported, does not fail the scan)" in text
    assert f"not scanned: {noted_report().notes[0]}" in text
    assert text.splitlines()[-1] == (
        "1 finding (0 critical, 1 high, 0 medium, 0 low), 0 suppressed, 41 third-party files skipped, "
        "1 note, scan complete"
    )


def test_table_of_a_clean_scan() -> None:
    text = render(ScanReport([Target("context", ".")]), "table", color=False)
    assert text.splitlines() == [
        "No secrets found in 1 target.",
        "0 findings (0 critical, 0 high, 0 medium, 0 low), 0 suppressed, scan complete",
    ]


def test_table_without_color_has_no_escape_codes_or_padding() -> None:
    text = render(sample_report(), "table", color=False)
    assert "\x1b" not in text
    assert all(line == line.rstrip() for line in text.splitlines())
    assert max(len(line) for line in text.splitlines()) <= 200


def test_table_with_color_uses_escape_codes() -> None:
    assert "\x1b[" in render(sample_report(), "table", color=True)


def test_table_on_a_terminal_is_colored_unless_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    assert "\x1b[" in render(sample_report(), "table")
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b" not in render(sample_report(), "table")


def test_table_not_on_a_terminal_honours_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    for name in ("NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "60")
    text = render(sample_report(), "table", rules=RULES)
    assert "\x1b" not in text
    assert max(len(line) for line in text.splitlines()) <= 60
    monkeypatch.setenv("COLUMNS", "junk")
    wide = render(sample_report(), "table", rules=RULES)
    assert 60 < max(len(line) for line in wide.splitlines()) <= 100


def test_force_color_colours_a_pipe_and_an_explicit_choice_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert "\x1b[" in render(sample_report(), "table")
    assert "\x1b" not in render(sample_report(), "table", color=False)
    monkeypatch.setenv("FORCE_COLOR", "")
    assert "\x1b" not in render(sample_report(), "table")


def test_table_shows_hostile_image_metadata_literally() -> None:
    hostile = LayerRef(1, "sha256:" + "1" * 64, "RUN echo [bold red]x[/] :smile: \x1b]0;pwned\x07")
    report = ScanReport(
        [Target("image", IMAGE, layers=(hostile,))],
        [finding(GITHUB_TOKEN, layer=hostile, path="/etc/[x]\u202e.env")],
    )
    for color in (False, True):
        text = render(report, "table", color=color)
        assert "]0;pwned" not in text.replace("\\x1b]0;pwned", "")
        assert "\x07" not in text and "\u202e" not in text
    plain = render(report, "table", color=False)
    assert "RUN echo [bold red]x[/] :smile: \\x1b]0;pwned\\x07" in plain
    assert "/etc/[x]\\u202e.env" in plain
