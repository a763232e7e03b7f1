"""``hubguard context --jobs N``: accepted as for ``scan`` and checked the same way."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def context(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hubguard", "context", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_jobs_is_taken_and_checked_like_scans(tmp_path: Path):
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY app.txt /app.txt\n")
    (tmp_path / ".dockerignore").write_text("**/.env*\n")
    (tmp_path / "app.txt").write_text("hello\n")

    taken = context(".", "--jobs", "2", "--format", "json", cwd=tmp_path)
    refused = context(".", "--jobs", "0", cwd=tmp_path)

    assert taken.returncode == 0, taken.stderr
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1
    assert "'0' is not a number of worker processes from 1 to 256" in refused.stderr
