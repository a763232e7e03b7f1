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


# --- examples/github-actions.yml, its run: steps executed ------------------------------------

WORKFLOW = ROOT / "examples" / "github-actions.yml"
FAKE_SHA = "0" * 40


def workflow_job() -> dict:
    import yaml

    (job,) = yaml.safe_load(WORKFLOW.read_text())["jobs"].values()
    return job


def condition_holds(expression: str, event: str, workdir: Path) -> bool:
    """The step conditions the workflow uses; any other one fails the test (teach it here)."""
    known = {
        "github.event_name == 'pull_request'": event == "pull_request",
        "github.event_name == 'push'": event == "push",
        "always() && hashFiles('hubguard.sarif') != ''": (workdir / "hubguard.sarif").is_file(),
    }
    assert expression in known, f"the test cannot evaluate the workflow condition {expression!r}"
    return known[expression]


@pytest.fixture(scope="module")
def hubguard_venv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The workflow's install step, run as written into a fresh virtualenv, with
    HUBGUARD_SOURCE a git URL of this checkout pinned to a commit: (venv, source)."""
    from tests.clone import snapshot

    repository = tmp_path_factory.mktemp("hubguard-git")
    source = f"git+file://{repository}@{snapshot(repository)}"
    venv = tmp_path_factory.mktemp("workflow-venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    (install,) = [step for step in workflow_job()["steps"] if step.get("name") == "Install hubguard"]
    env = {**os.environ, "PATH": f"{venv}/bin:{os.environ['PATH']}", "HUBGUARD_SOURCE": source}
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", install["run"]],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return venv, source


def run_workflow(event: str, workdir: Path, image: str, venv: Path, source: str) -> dict[str, int]:
    """Every run: step after the install, in order, as Actions would for ``event``: step
    conditions, continue-on-error, bash -e. Returns each step's exit code (a failed step that
    may not fail stops the job, as on GitHub)."""
    job = workflow_job()
    assert job["env"]["IMAGE"].startswith("docker.io/") and "HUBGUARD_SOURCE" in job["env"]
    env = {
        **os.environ,
        **{key: str(value) for key, value in job["env"].items()},
        "IMAGE": image,
        "HUBGUARD_SOURCE": source,
        "PATH": f"{venv}/bin:/usr/bin:/bin:{os.environ['PATH']}",
        "HUBGUARD_CACHE_DIR": str(workdir / ".cache"),
    }
    env.pop("PYTHONPATH", None)
    codes: dict[str, int] = {}
    for step in job["steps"]:
        if "run" not in step or step["name"] == "Install hubguard":
            continue
        if "if" in step and not condition_holds(step["if"], event, workdir):
            continue
        result = subprocess.run(
            ["bash", "-eo", "pipefail", "-c", step["run"]],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        codes[step["name"]] = result.returncode
        (workdir / f"{step['name']}.log").write_text(result.stdout + result.stderr)
        if result.returncode != 0 and not step.get("continue-on-error"):
            break
    return codes


@pytest.mark.engine
def test_workflow_pull_request_reports_sarif_and_fails_the_gate(
    tmp_path, hubguard_venv, busybox_image, registry, fake_token, docker_client
):
    venv, source = hubguard_venv
    image = f"{registry}/public/myserver:{FAKE_SHA[:12]}"
    token = fake_token("ghp_{alnum:36}")
    (tmp_path / "Dockerfile").write_text(f"FROM {busybox_image}\nRUN echo 'token={token}' > /etc/app.conf\n")
    try:
        codes = run_workflow("pull_request", tmp_path, image, venv, source)
    finally:
        if docker_client.images.list(image):
            docker_client.images.remove(image, force=True)
    assert codes == {"Build": 0, "Scan (SARIF)": 1, "Gate (pull request)": 1}
    sarif = json.loads((tmp_path / "hubguard.sarif").read_text())
    assert sarif["runs"][0]["results"][0]["ruleId"] == "github-pat-classic"
    gate = (tmp_path / "Gate (pull request).log").read_text()
    assert gate.startswith("::error ") and token not in gate


@pytest.mark.engine
def test_workflow_push_refuses_a_leaky_image_and_pushes_a_clean_one(
    tmp_path, hubguard_venv, busybox_image, registry, fake_token, docker_client
):
    venv, source = hubguard_venv
    (tmp_path / ".hubguard.toml").write_text('[visibility]\n"127.0.0.1:*/public/*" = "public"\n')
    leaky = f"{registry}/public/myserver:leaky-{FAKE_SHA[:8]}"
    clean = f"{registry}/public/myserver:clean-{FAKE_SHA[:8]}"
    try:
        (tmp_path / "Dockerfile").write_text(
            f"FROM {busybox_image}\nRUN echo 'token={fake_token('ghp_{alnum:36}')}' > /etc/app.conf\n"
        )
        refused = run_workflow("push", tmp_path, leaky, venv, source)
        assert refused == {"Build": 0, "Scan (SARIF)": 1, "Push through hubguard": 1}
        assert "nothing was pushed" in (tmp_path / "Push through hubguard.log").read_text()
        (tmp_path / "hubguard.sarif").unlink()
        (tmp_path / "Dockerfile").write_text(f"FROM {busybox_image}\nRUN echo hello > /etc/app.conf\n")
        pushed = run_workflow("push", tmp_path, clean, venv, source)
        assert pushed == {"Build": 0, "Scan (SARIF)": 0, "Push through hubguard": 0}
    finally:
        for image in (leaky, clean):
            if docker_client.images.list(image):
                docker_client.images.remove(image, force=True)


# --- the README's first screen ----------------------------------------------------------------


def test_readme_first_screen_is_the_real_output_at_80_columns(tmp_path: Path):
    readme = (ROOT / "README.md").read_text()
    setup = readme.split("## Set up", 1)[1]
    commands = setup.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()
    assert commands[0].startswith("python3 -m venv .venv") and "pip install ." in commands[0]
    example = commands[1].replace("/tmp/leaky.tar", str(tmp_path / "leaky.tar"))
    assert example.startswith("python examples/leaky_image.py ") and "--seed readme" in example
    shown = setup.split("```text\n", 1)[1].split("```", 1)[0].splitlines()
    result = subprocess.run(
        ["bash", "-c", example],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={
            **os.environ,
            "COLUMNS": "80",
            "NO_COLOR": "",
            "FORCE_COLOR": "",
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        },
    )
    assert result.returncode == 1, result.stderr
    real = result.stdout.splitlines()[1:]  # after the example's own "wrote …" line
    assert max(map(len, real)) <= 80
    # Stale after a rule's description changed? Regenerate the excerpt with the README's own
    # commands at COLUMNS=80 and copy the same blocks (`…` between them).
    pieces = "\n".join(shown).split("\n…\n")
    text = "\n".join(real)
    assert text.startswith(pieces[0]) and text.endswith(pieces[-1]), "README output is stale: regenerate it"
    position = 0
    for piece in pieces:
        found = text.find(piece, position)
        assert found >= 0, f"README output is stale, not in the real output:\n{piece}"
        position = found + len(piece)
