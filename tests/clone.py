"""This checkout as a fresh clone would have it: the working tree (tracked and untracked files,
minus what .gitignore excludes) committed in a scratch git repository. Tests that need the
repository as others get it (pre-commit installing the hooks, pip installing from git, a
fresh clone running the suite) start from here; nothing in this checkout's git state changes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "hubguard tests",
    "GIT_AUTHOR_EMAIL": "tests@hubguard.invalid",
    "GIT_COMMITTER_NAME": "hubguard tests",
    "GIT_COMMITTER_EMAIL": "tests@hubguard.invalid",
}


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, capture_output=True, text=True, timeout=300
    )
    if result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {result.stderr}")
    return result.stdout


def snapshot(destination: Path) -> str:
    """Commit this checkout's working tree as the only commit of a new repository at
    ``destination``; returns the commit."""
    listed = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file() or source.is_symlink():  # a tracked file deleted in the tree is skipped
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name, follow_symlinks=False)
    git(destination, "init", "-q")
    git(destination, "add", "-A")
    git(destination, "commit", "-q", "-m", "hubguard working tree")
    return git(destination, "rev-parse", "HEAD").strip()
