"""The hooks in .pre-commit-hooks.yaml, run by the real pre-commit on real ``git commit``s.

pre-commit installs a hook repository by cloning it at a commit, and ``pre-commit try-repo``
only carries tracked changes over, so files not yet committed here would be missing. The
``hook_repo`` fixture therefore snapshots this checkout's working tree (tracked and untracked,
minus what .gitignore excludes) into a throwaway git repository and commits it there; nothing
in this checkout's own git state changes. pre-commit then builds the hooks' virtualenv from
that snapshot with pip, once per module (PyPI must be reachable).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.clone import GIT_ENV, snapshot

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = "FROM scratch\nCOPY . /app/\n"
CONTEXT_HOOK = "hubguard (secrets and sensitive files sent to docker build)"
COVERAGE_HOOK = "hubguard (.dockerignore covers credential files)"
Project = Callable[..., Path]


def run(
    command: list[str], cwd: Path, env: dict[str, str], check: bool = True
) -> subprocess.CompletedProcess:
    """stderr is folded into stdout: pre-commit and git print hook lines to either."""
    result = subprocess.run(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900
    )
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed:\n{result.stdout}", pytrace=False)
    return result


def git(repo: Path, env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run(["git", *args], repo, env, check)


def hook_result(output: str, hook: str) -> str:
    """``Passed``/``Failed``/``Skipped`` as pre-commit printed it for ``hook``."""
    match = re.search(re.escape(hook) + r"\.+(?:\([^)]*\))?(Passed|Failed|Skipped)", output)
    assert match, output
    return match.group(1)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Git and pre-commit isolated from the user's configuration and caches."""
    return {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path_factory.mktemp("pre-commit-home")),
        **GIT_ENV,
        "NO_COLOR": "1",
    }


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This checkout's working tree, committed in a scratch repository: (path, commit)."""
    repository = tmp_path_factory.mktemp("hook-repo")
    commit = snapshot(repository)
    assert (repository / ".pre-commit-hooks.yaml").is_file()
    return repository, commit


@pytest.fixture
def project(tmp_path: Path, hook_repo: tuple[Path, str], env: dict[str, str]) -> Project:
    """A git repository holding ``files`` in its first commit, with both hooks installed (or
    the hooks ``config`` names, a .pre-commit-config.yaml)."""

    def make(files: dict[str, str], config: str = "") -> Path:
        repo = tmp_path / "project"
        repo.mkdir()
        hook_path, commit = hook_repo
        config = config or (
            f"repos:\n- repo: {hook_path}\n  rev: {commit}\n  hooks:\n"
            "  - id: hubguard-context\n  - id: hubguard-dockerignore\n"
        )
        for name, content in {**files, ".pre-commit-config.yaml": config}.items():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            (repo / name).write_text(content)
        git(repo, env, "init", "-q")
        git(repo, env, "add", "-A")
        git(repo, env, "commit", "-q", "-m", "initial")
        run([sys.executable, "-m", "pre_commit", "install"], repo, env)
        return repo

    return make


@pytest.fixture
def dotenv(fake_token: Callable[[str], str]) -> str:
    return f"API_TOKEN={fake_token('{alnum:32}')}\n"


def test_a_commit_adding_an_unignored_env_is_refused_until_fixed(
    project: Project, env: dict[str, str], dotenv: str
):
    repo = project({"Dockerfile": DOCKERFILE, ".dockerignore": ".git\n", "app.py": "print('hi')\n"})
    (repo / ".env").write_text(dotenv)
    git(repo, env, "add", ".env")
    refused = git(repo, env, "commit", "-m", "add settings", check=False)
    output = refused.stdout
    assert refused.returncode != 0, output
    assert hook_result(output, CONTEXT_HOOK) == "Failed"
    assert hook_result(output, COVERAGE_HOOK) == "Failed"
    assert 'add "**/.env*" to .dockerignore: .env ' in output
    assert dotenv.strip().split("=")[1] not in output

    fixed = run([sys.executable, "-m", "hubguard", "context", "--fix"], repo, env, check=False)
    assert fixed.returncode == 0, fixed.stdout
    git(repo, env, "add", ".dockerignore")
    accepted = git(repo, env, "commit", "-m", "add settings", check=False)
    assert accepted.returncode == 0, accepted.stdout
    assert hook_result(accepted.stdout, CONTEXT_HOOK) == "Passed"
    committed = git(repo, env, "ls-tree", "--name-only", "HEAD").stdout.split()
    assert ".env" in committed and ".dockerignore" in committed


def test_weakening_or_deleting_the_dockerignore_is_refused(
    project: Project, env: dict[str, str], dotenv: str
):
    repo = project({"Dockerfile": DOCKERFILE, ".dockerignore": ".git\n**/.env*\n", ".env": dotenv})
    (repo / ".dockerignore").write_text(".git\n")
    git(repo, env, "add", ".dockerignore")
    refused = git(repo, env, "commit", "-m", "tidy", check=False)
    assert refused.returncode != 0
    assert hook_result(refused.stdout, COVERAGE_HOOK) == "Failed"
    assert 'add "**/.env*" to .dockerignore' in refused.stdout

    git(repo, env, "rm", "-q", "--cached", ".dockerignore")  # a deletion: pre-commit passes no file
    (repo / ".dockerignore").unlink()
    refused = git(repo, env, "commit", "-m", "no ignore file", check=False)
    assert refused.returncode != 0
    assert hook_result(refused.stdout, CONTEXT_HOOK) == "Failed"
    assert "no .dockerignore, and 1 sensitive file would be sent" in refused.stdout


def test_only_files_inside_a_build_context_count(project: Project, env: dict[str, str], dotenv: str):
    repo = project({"services/api/Dockerfile": DOCKERFILE, "docs/guide.md": "# guide\n"})
    (repo / "docs/.env").write_text(dotenv)
    git(repo, env, "add", "docs/.env")
    accepted = git(repo, env, "commit", "-m", "docs env", check=False)
    assert accepted.returncode == 0, accepted.stdout

    (repo / "services/api/.env").write_text(dotenv)
    git(repo, env, "add", "services/api/.env")
    refused = git(repo, env, "commit", "-m", "api env", check=False)
    assert refused.returncode != 0
    said = " ".join(refused.stdout.split())  # the report wraps long lines
    assert 'add "**/.env*" to services/api/.dockerignore: services/api/.env ' in said


LINT_HOOK = "hubguard lint (secret handling in Dockerfiles and CI build steps)"


def test_lint_hook_refuses_a_secret_build_arg_until_it_becomes_a_secret_mount(
    tmp_path: Path, hook_repo: tuple[Path, str], env: dict[str, str]
):
    repo = tmp_path / "lint-project"
    repo.mkdir()
    hook_path, commit = hook_repo
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {hook_path}\n  rev: {commit}\n  hooks:\n  - id: hubguard-lint\n"
    )
    (repo / "README.md").write_text("# app\n")
    git(repo, env, "init", "-q")
    git(repo, env, "add", "-A")
    git(repo, env, "commit", "-q", "-m", "initial")
    run([sys.executable, "-m", "pre_commit", "install"], repo, env)

    (repo / "docs.md").write_text("no Dockerfile here\n")
    git(repo, env, "add", "docs.md")
    skipped = git(repo, env, "commit", "-m", "docs", check=False)
    assert skipped.returncode == 0 and hook_result(skipped.stdout, LINT_HOOK) == "Skipped"

    (repo / "Dockerfile").write_text('FROM alpine\nARG NPM_TOKEN\nRUN echo "$NPM_TOKEN" > /root/.npmrc\n')
    workflow = repo / ".github" / "workflows" / "image.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(
        "on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: docker build --build-arg NPM_TOKEN=${{ secrets.NPM_TOKEN }} .\n"
    )
    git(repo, env, "add", "Dockerfile", ".github")
    refused = git(repo, env, "commit", "-m", "image", check=False)
    assert refused.returncode != 0
    assert hook_result(refused.stdout, LINT_HOOK) == "Failed"
    for expected in ("dockerfile-secret-arg-env", "dockerfile-secret-in-file", "ci-build-arg-secret"):
        assert expected in refused.stdout

    (repo / "Dockerfile").write_text(
        "FROM alpine\nRUN --mount=type=secret,id=npm_token,env=NPM_TOKEN npm ci\n"
    )
    workflow.write_text(
        "on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: docker build --secret id=npm_token,env=NPM_TOKEN .\n"
        "        env:\n          NPM_TOKEN: ${{ secrets.NPM_TOKEN }}\n"
    )
    git(repo, env, "add", "Dockerfile", ".github")
    accepted = git(repo, env, "commit", "-m", "image", check=False)
    assert accepted.returncode == 0, accepted.stdout
    assert hook_result(accepted.stdout, LINT_HOOK) == "Passed"


def documented_configs() -> list[tuple[str, str]]:
    """Every .pre-commit-config.yaml the docs show: (where, text)."""
    found = []
    for doc in (ROOT / "docs" / "context.md", ROOT / "docs" / "usage.md", ROOT / "README.md"):
        for number, block in enumerate(re.findall(r"```yaml\n(.*?)```", doc.read_text(), flags=re.S)):
            if "hubguard-context" in block:
                found.append((f"{doc.name}#{number}", block))
    return found


@pytest.mark.repo_files
@pytest.mark.parametrize(("where", "config"), documented_configs(), ids=[w for w, _ in documented_configs()])
def test_documented_configs_work_as_written(
    project: Project, hook_repo: tuple[Path, str], env: dict[str, str], dotenv: str, where: str, config: str
):
    hook_path, commit = hook_repo
    # The two placeholders a reader fills in: where their hubguard repository is, and its commit.
    config = re.sub(r"(repo: )https://github\.com/YOUR-ORG/hubguard", rf"\g<1>{hook_path}", config)
    config = config.replace("YOUR-COMMIT-SHA", commit)
    assert "YOUR-" not in config and "OWNER" not in config, where
    repo = project({"Dockerfile": DOCKERFILE, "app.py": "print('hi')\n"}, config)
    (repo / ".env").write_text(dotenv)
    git(repo, env, "add", ".env")
    refused = git(repo, env, "commit", "-m", "add settings", check=False)
    assert refused.returncode != 0, refused.stdout
    assert hook_result(refused.stdout, CONTEXT_HOOK) == "Failed"
    assert "no .dockerignore, and 1 sensitive file would be sent" in " ".join(refused.stdout.split())
