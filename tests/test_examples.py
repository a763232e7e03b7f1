"""The bundled examples do what they say, run exactly as a newcomer would run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.repo_files


def run(command: list[str], cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, env={**os.environ, **env}, timeout=600
    )


@pytest.fixture(scope="module")
def leaky_tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python examples/leaky_image.py OUT`` as the README runs it (fresh fakes)."""
    out = tmp_path_factory.mktemp("example") / "leaky.tar"
    result = run([sys.executable, "examples/leaky_image.py", str(out)])
    assert result.returncode == 0, result.stderr
    return out


def test_leaky_example_answer_file_matches_the_scan_exactly(leaky_tar: Path):
    planted = json.loads(Path(f"{leaky_tar}.planted.json").read_text())
    scan = run([sys.executable, "-m", "hubguard", "scan", f"docker-archive:{leaky_tar}", "--format", "json"])
    assert scan.returncode == 1, scan.stderr
    findings = json.loads(scan.stdout)["findings"]

    def key(entry: dict) -> tuple[str, str, str]:
        return entry["path"], entry["state"], entry["hashed_secret"]

    assert sorted(map(key, findings)) == sorted(map(key, planted))
    said = run([sys.executable, "examples/leaky_image.py", str(leaky_tar)]).stdout
    assert f"with {len(findings)} planted fake secrets" in said


def test_leaky_example_with_a_seed_is_reproducible(tmp_path: Path):
    for name in ("a.tar", "b.tar"):
        result = run([sys.executable, "examples/leaky_image.py", str(tmp_path / name), "--seed", "readme"])
        assert result.returncode == 0, result.stderr
    assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()
    other = tmp_path / "c.tar"
    run([sys.executable, "examples/leaky_image.py", str(other), "--seed", "other"])
    assert other.read_bytes() != (tmp_path / "a.tar").read_bytes()
