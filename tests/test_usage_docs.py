"""docs/usage.md shows a refusal and a successful push as hubguard prints them: both are run
again here (real engine, real registry) and every ``hubguard:`` line of the docs must match,
once digests, the registry address and the project directory are normalised."""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import docker.errors
import pytest

from tests.fakes import expand

pytestmark = pytest.mark.engine
USAGE = Path(__file__).resolve().parent.parent / "docs" / "usage.md"
DIGEST = re.compile(r"sha256:[0-9a-f]{12,64}|file:[0-9a-f]{64}|fingerprint:[0-9a-f]{32}|[0-9a-f]{12}\b")


def documented_lines(command: str) -> list[str]:
    """The ``hubguard:`` lines of the console block that starts with ``$ command``."""
    text = USAGE.read_text(encoding="utf-8")
    start = text.index(f"$ {command}\n")
    block = text[start : text.index("```", start)]
    return [line for line in block.splitlines() if line.startswith("hubguard:")]


def normalise(lines: list[str], registry: str, project: Path) -> list[str]:
    shown = []
    for line in lines:
        line = line.replace(registry, "localhost:5000").replace(str(project), "/src/myserver")
        shown.append(DIGEST.sub("<digest>", line))
    return shown


@pytest.fixture
def myserver(tmp_path: Path, registry: str, docker_client) -> Iterator[tuple[Path, str]]:
    project = tmp_path / "myserver"
    project.mkdir()
    (project / ".hubguard.toml").write_text(f'[visibility]\n"{registry}/myname/*" = "public"\n')
    yield project, f"{registry}/myname/myserver"
    for version in ("1", "2"):
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_client.api.remove_image(f"{registry}/myname/myserver:{version}")


def push(project: Path, name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hubguard", "push", name],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_documented_refusal_and_push_are_what_hubguard_prints(
    myserver, registry, build_image, busybox_image, docker_client
):
    project, name = myserver
    token = expand("ghp_{alnum:36}", seed="docs-demo")  # the docs' fake token, made at run time
    dockerfile = f"FROM {busybox_image}\nCOPY app.conf /etc/app.conf\n"
    leaky = build_image(dockerfile, {"app.conf": f"github_token = {token}\n"})
    clean = build_image(dockerfile, {"app.conf": "listen = 8080\n"})
    docker_client.api.tag(leaky.id, name, "1")
    docker_client.api.tag(clean.id, name, "2")

    refused = push(project, f"{name}:1")
    pushed = push(project, f"{name}:2")

    assert (refused.returncode, pushed.returncode) == (1, 0), refused.stderr + pushed.stderr
    for result, command in (
        (refused, "hubguard push localhost:5000/myname/myserver:1"),
        (pushed, "hubguard push localhost:5000/myname/myserver:2"),
    ):
        printed = normalise(result.stderr.splitlines(), registry, project)
        documented = normalise(documented_lines(command), registry, project)
        assert printed == documented
