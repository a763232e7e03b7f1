"""The suite passes on a fresh clone with nothing beside it.

The working tree is committed in a scratch repository (tests/clone.py), cloned with git into an
empty directory, and there the tests that read repository files outside tests/ (marked
``repo_files``) run, plus the report tests whose SARIF schema once came from a directory beside
the checkout. The two heavy ``repo_files`` groups (the workflow's pip install from git and the
documented pre-commit configs) are left out here: they install from such a clone already.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.clone import git, snapshot

HEAVY = "not workflow and not documented_configs"


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    origin = tmp_path_factory.mktemp("origin")
    snapshot(origin)
    empty = tmp_path_factory.mktemp("empty")
    git(empty, "clone", "-q", str(origin), "hubguard")
    assert [path.name for path in empty.iterdir()] == ["hubguard"]
    return empty / "hubguard"


def pytest_in(clone: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HUBGUARD_CACHE_DIR": str(clone.parent / "cache")}
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )


def test_the_clone_imports_its_own_hubguard(fresh_clone: Path):
    where = subprocess.run(
        [sys.executable, "-c", "import hubguard, examples; print(hubguard.__file__, examples.__file__)"],
        cwd=fresh_clone,
        capture_output=True,
        text=True,
        env={key: value for key, value in os.environ.items() if key != "PYTHONPATH"},
    ).stdout.split()
    assert [Path(path).parents[1] for path in where] == [fresh_clone, fresh_clone]


def test_repository_file_tests_pass_in_a_fresh_clone(fresh_clone: Path):
    result = pytest_in(fresh_clone, "tests", "-m", "repo_files", "-k", HEAVY)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout.splitlines()[-1]


def test_report_tests_pass_in_a_fresh_clone(fresh_clone: Path):
    result = pytest_in(fresh_clone, "tests/report")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
