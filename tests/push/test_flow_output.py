"""What ``hubguard push`` shows, as ``scan`` does (issue 14): ``--output FILE`` prints the
summary line and where the report went, ``--color``, a byte progress bar on a terminal's
stderr only, and the suppression files checked before any scan. Real CLI, engine and registry."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.push.running import PUSH_TIMEOUT, manifest, on_a_terminal, path_of, repository, run_hubguard

pytestmark = pytest.mark.engine
SUMMARY = re.compile(r"^1 finding \(0 critical, 1 high, 0 medium, 0 low\), .*scan complete$")
ANSI = "\x1b["


def test_output_file_prints_the_summary_and_where_the_report_went(registry, project, tag, leaky_image):
    name = repository(registry, "private")
    tag(leaky_image, f"{name}:1")
    report = project / "push-report.txt"

    result = run_hubguard("push", "--dry-run", "--output", str(report), f"{name}:1", cwd=project)

    assert result.returncode == 0, result.stderr
    assert SUMMARY.match(result.stdout.splitlines()[0]), result.stdout
    assert result.stdout.splitlines()[1:] == [f"report written to {report}"]
    written = report.read_text()
    assert "sendgrid" in written and ANSI not in written
    assert max(len(line) for line in written.splitlines()) <= 100  # the file's fixed width


def test_color_always_and_never(registry, project, tag, leaky_image):
    name = repository(registry, "private")
    tag(leaky_image, f"{name}:1")

    coloured = run_hubguard("push", "--dry-run", "--color", "always", f"{name}:1", cwd=project)
    plain = run_hubguard("push", "--dry-run", "--color", "never", f"{name}:1", cwd=project, env=forced())

    assert coloured.returncode == plain.returncode == 0, coloured.stderr + plain.stderr
    assert ANSI in coloured.stdout and "sendgrid" in coloured.stdout
    assert ANSI not in plain.stdout and "sendgrid" in plain.stdout


def forced() -> dict[str, str]:
    """FORCE_COLOR set: --color never still wins."""
    return {**os.environ, "FORCE_COLOR": "1"}


def test_progress_bar_on_a_terminal_counts_bytes_and_pipes_see_none(registry, project, tag, clean_image):
    name = repository(registry, "private")
    tag(clean_image, f"{name}:1")
    no_delay = (
        "import sys, hubguard.report.progress as progress; progress.DELAY = 0; "
        "from hubguard.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    returncode, shown, _ = on_a_terminal(
        [sys.executable, "-c", no_delay, "push", "--dry-run", f"{name}:1"], project, stream="stderr"
    )
    piped = subprocess.run(
        [sys.executable, "-c", no_delay, "push", "--dry-run", f"{name}:1"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=PUSH_TIMEOUT,
    )

    text = shown.decode(errors="replace")
    assert returncode == 0, text
    assert "scanning layers" in text
    assert re.search(r"\d+(\.\d+)?/\d+(\.\d+)? (kB|MB)", text)  # bytes of the image, not 2 layers
    assert piped.returncode == 0, piped.stderr
    assert "scanning layers" not in piped.stderr and ANSI not in piped.stderr


@pytest.mark.parametrize(
    ("ignore", "words"),
    [
        ("rule:github-pat\n", "rule:github-pat is no rule id (did you mean rule:github-pat-classic?"),
        ("rule:ok\nrule github-pat-classic\n", ".hubguardignore:2:"),
        ("fingerprint:3f2a\n", "8 to 32 hex characters"),
    ],
)
def test_a_mistake_in_the_ignore_file_is_one_line_before_any_scan(
    registry, project, tag, leaky_image, ignore, words
):
    name = repository(registry, "public")
    tag(leaky_image, f"{name}:1")
    (project / ".hubguardignore").write_text(ignore)

    result = run_hubguard("push", f"{name}:1", cwd=project)

    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and words in result.stderr, result.stderr
    assert result.stdout == ""
    assert not any(Path(os.environ["HUBGUARD_CACHE_DIR"]).rglob("*.json.gz"))  # nothing was scanned
    assert manifest(registry, path_of(name), "1")[0] == 404


def test_an_ignore_entry_that_matched_nothing_is_a_warning(registry, project, tag, leaky_image):
    name = repository(registry, "private")
    tag(leaky_image, f"{name}:1")
    (project / ".hubguardignore").write_text("rule:slack-token\n")

    result = run_hubguard("push", "--dry-run", f"{name}:1", cwd=project)

    assert result.returncode == 0, result.stderr
    assert (
        f"hubguard: warning: {project / '.hubguardignore'}:1: rule:slack-token matched nothing in this scan\n"
        in result.stderr
    )
