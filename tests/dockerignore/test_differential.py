"""hubguard's idea of the build context against what the real engine copies.

For a fixed-seed set of generated trees and .dockerignore files, ``FROM scratch`` +
``COPY . /ctx/`` is built with Debian's 20.10 docker CLI, once with the classic builder and
once with BuildKit, and the files that land in the image are compared with
``walk_context(..., builder=...)``.

The local BuildKit is the one Docker 20.10 drives, older than what the current docs
describe: it does not follow a wildcard exception such as ``!**/public.pem`` into an
excluded directory, it matches with docker 20.10's unescaped regexps (``a+b`` matches
``aab``) and it sends directories it entered for an exception even when they stay empty.
So it is compared with hubguard's ``buildkit-20.10`` model, and
``test_local_buildkit_predates_wildcard_exceptions`` pins the main disagreement with the
current ``buildkit`` model (the default).
"""

from __future__ import annotations

import io
import os
import random
import subprocess
import tarfile
import uuid
from pathlib import Path

import pytest

from hubguard.sources.context import walk_context

DOCKER_CLI = "/usr/bin/docker"  # Debian's 20.10 client: its classic builder and BuildKit
DOCKERFILE = "FROM scratch\nCOPY . /ctx/\n"
SEEDS = range(40)
ENGINE_BUILDERS = {"classic": "0", "buildkit-20.10": "1"}

DIRECTORY_NAMES = ["secrets", "a", "b", "node_modules", "conf", "x.d", "sub"]
FILE_NAMES = [
    "public.pem",
    "key.pem",
    ".env",
    "a",
    "ab",
    "b1",
    "README.md",
    "x!y",
    "xby",
    "c^d",
    "a+b",
    "aab",
    "data.json",
]
# Lines that exercise each reading and matching rule, mixed at random per case.
PATTERN_LINES = [
    "secrets",
    "!**/public.pem",
    "!secrets/public.pem",
    "*.pem",
    "**/*.pem",
    "a?",
    "[^a]*",
    "[!a]*",
    "x[^a]y",
    "x[!a]y",
    "/conf",
    "./sub",
    "x.d/../secrets",
    "conf/",
    "# comment",
    "",
    "   ",
    "  *.md  ",
    "!README.md",
    "**/node_modules",
    "node_modules/**",
    "*/a",
    "a/**/b1",
    "**/.env",
    "!sub/**",
    "sub",
    "a/*",
    "b/[a-c]*",
    "?b",
    "!a/ab",
    "**/b",
    "!conf/data.json",
    " #not-a-comment",
    "*/*/key.pem",
    "a/../a/ab",
    "a+b",
    "c^d",
    "!x.d",
    "Dockerfile",
    ".dockerignore",
]


def docker(*args: str, builder_env: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if builder_env is not None:
        env["DOCKER_BUILDKIT"] = builder_env
    completed = subprocess.run(
        [DOCKER_CLI, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    if completed.returncode != 0:
        pytest.fail(f"docker {args[0]} failed: {completed.stderr.strip()[-400:]}", pytrace=False)
    return completed


@pytest.fixture(scope="module")
def engine() -> None:
    """A missing engine fails the test: a skipped differential test proves nothing."""
    if not os.environ.get("DOCKER_HOST"):
        pytest.fail("DOCKER_HOST is not set; the differential test needs the engine", pytrace=False)
    docker("version", "--format", "{{.Server.Version}}")


def generate_case(seed: int, root: Path) -> tuple[str, str | None]:
    """A small random tree and ignore file; returns (ignore text, Dockerfile path or None)."""
    rng = random.Random(seed)
    directories = [""]
    for _ in range(rng.randint(3, 7)):
        parent = rng.choice(directories)
        if parent.count("/") < 2:
            directories.append(f"{parent}/{rng.choice(DIRECTORY_NAMES)}".lstrip("/"))
    for directory in directories:
        (root / directory).mkdir(parents=True, exist_ok=True)
    for directory in directories:
        for name in rng.sample(FILE_NAMES, rng.randint(0, 4)):
            if not (root / directory / name).exists():
                (root / directory / name).write_text(name)
    if rng.random() < 0.5:
        (root / "link").symlink_to(rng.choice(["a", "secrets", "missing", "../outside"]))
    lines = rng.sample(PATTERN_LINES, rng.randint(3, 8))
    ignore = ("\ufeff" if rng.random() < 0.2 else "") + ("\r\n" if rng.random() < 0.2 else "\n").join(lines)
    dockerfile = None
    if rng.random() < 0.25:
        dockerfile = "docker/app.Dockerfile"
        (root / "docker").mkdir(exist_ok=True)
        (root / dockerfile).write_text(DOCKERFILE)
        beside = rng.sample(PATTERN_LINES, rng.randint(2, 5))
        (root / "docker/app.Dockerfile.dockerignore").write_text("\n".join(beside))
    else:
        (root / "Dockerfile").write_text(DOCKERFILE)
    (root / ".dockerignore").write_text(ignore, encoding="utf-8")
    return ignore, dockerfile


def engine_copy(context: Path, dockerfile: str | None, builder: str) -> dict[str, str]:
    """Build, export the container and list what ``COPY . /ctx/`` created (path → kind)."""
    tag = f"hubguard-difftest-{uuid.uuid4().hex[:12]}"
    args = ["build", "-q", "-t", tag]
    if dockerfile:
        args += ["-f", str(context / dockerfile)]
    docker(*args, str(context), builder_env=ENGINE_BUILDERS[builder])
    container = ""
    try:
        container = docker("create", tag, "none").stdout.strip()
        exported = subprocess.run(
            [DOCKER_CLI, "export", container], capture_output=True, check=True, timeout=120
        ).stdout
    finally:
        if container:
            docker("rm", container)
        docker("rmi", tag)
    landed: dict[str, str] = {}
    with tarfile.open(fileobj=io.BytesIO(exported)) as archive:
        for member in archive.getmembers():
            name = member.name.rstrip("/")
            if not name.startswith("ctx/"):
                continue
            kind = "dir" if member.isdir() else "symlink" if member.issym() else "file"
            landed[name.removeprefix("ctx/")] = kind
    return landed


@pytest.mark.engine
@pytest.mark.usefixtures("engine")
@pytest.mark.parametrize("builder", ENGINE_BUILDERS)
@pytest.mark.parametrize("seed", SEEDS)
def test_walk_matches_what_the_engine_copies(seed: int, builder: str, tmp_path: Path) -> None:
    context = tmp_path / "ctx"
    context.mkdir()
    ignore, dockerfile = generate_case(seed, context)
    listing = walk_context(context, dockerfile, builder)
    assert listing.problems == []
    expected = listing.copied()
    landed = engine_copy(context, dockerfile, builder)
    assert landed == expected, (
        f"seed {seed}, {builder}, dockerfile {dockerfile}\n.dockerignore: {ignore!r}\n"
        f"engine only: {sorted(set(landed) - set(expected))}\n"
        f"hubguard only: {sorted(set(expected) - set(landed))}"
    )


def test_the_seed_set_covers_the_interesting_cases(tmp_path: Path) -> None:
    """The fixed seeds must keep exercising exceptions, BOMs, CRLF and per-Dockerfile files."""
    texts, dockerfiles = [], []
    for seed in SEEDS:
        context = tmp_path / str(seed)
        context.mkdir()
        ignore, dockerfile = generate_case(seed, context)
        texts.append(ignore)
        dockerfiles.append(dockerfile)
    assert any("\n!" in text or text.startswith("!") for text in texts)
    assert any("**" in text for text in texts)
    assert any(text.startswith("\ufeff") for text in texts)
    assert any("\r\n" in text for text in texts)
    assert any(dockerfiles)


@pytest.mark.engine
@pytest.mark.usefixtures("engine")
def test_local_buildkit_predates_wildcard_exceptions(tmp_path: Path) -> None:
    """Current BuildKit re-includes secrets/public.pem here; Docker 20.10's does not."""
    context = tmp_path / "ctx"
    for relative in ("secrets/public.pem", "secrets/private.pem", "app.py"):
        (context / relative).parent.mkdir(parents=True, exist_ok=True)
        (context / relative).write_text("")
    (context / "Dockerfile").write_text(DOCKERFILE)
    (context / ".dockerignore").write_text("secrets\n!**/public.pem\n")
    landed = engine_copy(context, None, "buildkit-20.10")
    assert landed == walk_context(context, builder="buildkit-20.10").copied()
    assert "secrets/public.pem" not in landed
    current = walk_context(context, builder="buildkit").copied()
    assert set(current) - set(landed) == {"secrets", "secrets/public.pem"}
