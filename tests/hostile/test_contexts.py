"""Hostile build contexts and project files: stray suppression files, special files,
pathological and huge ``.dockerignore`` files. Each runs the real CLI under a time bound."""

from __future__ import annotations

import json
import os
import socket

from tests.hostile.harness import check, layer, legacy_archive, reported, run_cli, token
from tests.hostile.test_echo import make_context

# --- 7. suppressions come from the project only, and are named ------------------------------------


def test_a_planted_hubguardignore_in_a_parent_directory_does_not_silence_a_scan(tmp_path):
    secret = token()
    shared = tmp_path / "shared-tmp"
    project = shared / "project"
    project.mkdir(parents=True)
    (shared / ".hubguardignore").write_text("path:/**\nrule:github-pat-classic\n")
    archive = legacy_archive(project / "a.tar", [layer({"app/.env": f"GITHUB_TOKEN={secret}\n".encode()})])
    run = run_cli(tmp_path, "scan", f"docker-archive:{archive}", "--format", "json", cwd=project)
    check(run, tmp_path, [secret], codes=(1,))
    assert reported(run, secret)


def test_every_suppression_source_that_changed_the_result_is_named(tmp_path):
    secret = token()
    project = tmp_path / "project"
    project.mkdir()
    (project / ".hubguardignore").write_text("path:/app/**\n")
    archive = legacy_archive(project / "a.tar", [layer({"app/.env": f"GITHUB_TOKEN={secret}\n".encode()})])
    run = run_cli(tmp_path, "scan", f"docker-archive:{archive}", "--format", "json", cwd=project)
    check(run, tmp_path, [secret], codes=(0,))
    notes = json.loads(run.stdout)["summary"]["notes"]
    # Named as a person in the project directory would name it (relative there).
    assert ".hubguardignore: suppressed 1 finding" in notes, notes


# --- 13. special files in a context -----------------------------------------------------------


def test_fifos_and_sockets_in_a_context_are_problems_not_hangs(tmp_path):
    context = make_context(tmp_path / "ctx", {"app.py": "print(1)\n"})
    os.mkfifo(context / "pipe")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(context / "sock"))
    try:
        run = run_cli(tmp_path, "context", str(context), "--format", "json", timeout=60)
    finally:
        server.close()
    check(run, tmp_path, codes=(3,))
    assert "FIFO" in run.stderr and "socket" in run.stderr


# --- 16, 17. pathological and huge .dockerignore files --------------------------------------------


def test_backtracking_patterns_match_in_linear_time(tmp_path):
    deep = "/".join(["d"] * 120)
    context = make_context(
        tmp_path / "ctx",
        {
            ".dockerignore": "**/a*a*a*a*a*a*a*a*b\n**/**/**/**/**/a*b*c*d*e*f*\n!" + "a" * 60 + "x\n",
            "a" * 60: "x\n",
            f"{deep}/" + "abcde" * 4: "x\n",
        },
    )
    run = run_cli(tmp_path, "context", str(context), "--format", "json", timeout=60)
    check(run, tmp_path, codes=(0, 1))


def test_a_100k_line_dockerignore_is_read_within_the_bound(tmp_path):
    lines = [["build%d/*.o", "**/cache%d", "docs/page%d.md", "tmp%d/**"][i % 4] % i for i in range(100_000)]
    files = {".dockerignore": "\n".join(lines) + "\n"}
    files.update({f"src/f{i}.py": "x = 1\n" for i in range(50)})
    context = make_context(tmp_path / "ctx", files)
    run = run_cli(tmp_path, "context", str(context), "--format", "json", timeout=90)
    check(run, tmp_path, codes=(1,))
    report = json.loads(run.stdout)
    assert len(report["findings"]) == 100  # unused lines: listed up to the cap, the rest counted
    assert any("99900 more lines match nothing" in note for note in report["summary"]["notes"])
