"""Running ``hubguard push`` the way a user does: a new process, its output captured."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PUSH_TIMEOUT = 300


def run_hubguard(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hubguard", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=PUSH_TIMEOUT,
        env=env,
    )


def push(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_hubguard("push", *args, cwd=cwd, env=env)
