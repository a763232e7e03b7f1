"""Shared fixtures: the real Docker engine, a tiny busybox base, an image builder and a registry.

The services come from ``scripts/services.sh start`` (``bash scripts/test`` starts and stops them
around pytest). A missing service fails the test, never skips it: a skipped scan test would let a
leaky build look green. Such failures are one line (``pytrace=False``), not a client traceback.

``hubguard-test/busybox:1`` is left in the engine after the session on purpose: it is ~2 MB,
made from Debian's static busybox, and reusing it keeps later sessions fast. Every image that
``build_image`` builds is removed when its test ends.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import shutil
import subprocess
import tarfile
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol

import docker
import docker.errors
import pytest
import requests

from tests.fakes import PLACEHOLDER, expand
from tests.realimages import build_tarballs, cache_root, recipe_key

BUSYBOX_TAG = "hubguard-test/busybox:1"
BUSYBOX_BINARY = Path("/usr/bin/busybox")
# Applets that Dockerfiles in the tests may rely on; the image gets every applet busybox has.
REQUIRED_APPLETS = frozenset(
    {"sh", "ls", "rm", "cat", "echo", "mkdir", "cp", "mv", "gzip", "tar", "find", "printf", "touch"}
)
# The Debian docker.io client: the 20.10 CLI whose classic builder and BuildKit match the engine.
DOCKER_CLI = "/usr/bin/docker"
BUILD_TIMEOUT_SECONDS = 300
BUILD_OUTPUT_TAIL_LINES = 40


@dataclass(frozen=True)
class BuiltImage:
    """An image a test built: the engine's image ID (``sha256:…``) and the tag it carries."""

    id: str
    tag: str


class ImageBuilder(Protocol):
    """Signature of the ``build_image`` fixture."""

    def __call__(
        self,
        dockerfile: str,
        files: dict[str, bytes | str] | None = None,
        *,
        buildargs: dict[str, str] | None = None,
        buildkit: bool = False,
        tag: str | None = None,
    ) -> BuiltImage: ...


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    """A docker-py client for the engine at $DOCKER_HOST, proven reachable."""
    client = _connect_to_engine()
    if client is None:
        docker_host = os.environ.get("DOCKER_HOST", "the default socket (DOCKER_HOST is unset)")
        pytest.fail(
            f"no Docker engine at {docker_host}: run `scripts/services.sh start` and source its env",
            pytrace=False,
        )
    yield client
    client.close()


def _connect_to_engine() -> docker.DockerClient | None:
    """The client if the engine answers a ping; None (not an exception) keeps the failure short."""
    try:
        client = docker.from_env()
        client.ping()
    except (docker.errors.DockerException, requests.RequestException):
        return None
    return client


@pytest.fixture(scope="session")
def busybox_image(docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Tag of a ~2 MB base image (static busybox + applet links + /tmp), imported once."""
    try:
        docker_client.images.get(BUSYBOX_TAG)
        return BUSYBOX_TAG
    except docker.errors.ImageNotFound:
        pass
    if not BUSYBOX_BINARY.is_file():
        pytest.fail(f"{BUSYBOX_BINARY} is missing: install Debian's busybox-static", pytrace=False)
    applets = set(
        subprocess.run(
            [str(BUSYBOX_BINARY), "--list"], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    if missing := REQUIRED_APPLETS - applets:
        pytest.fail(f"{BUSYBOX_BINARY} lacks applets: {', '.join(sorted(missing))}", pytrace=False)

    rootfs = tmp_path_factory.mktemp("busybox-rootfs")
    bin_dir = rootfs / "bin"
    bin_dir.mkdir()
    shutil.copy2(BUSYBOX_BINARY, bin_dir / "busybox")
    for applet in sorted(applets - {"busybox"}):
        (bin_dir / applet).symlink_to("busybox")
    (rootfs / "tmp").mkdir()
    (rootfs / "tmp").chmod(0o1777)  # not mkdir(mode=...): the umask would mask the mode

    repository, _, version = BUSYBOX_TAG.partition(":")
    docker_client.api.import_image_from_data(
        _tar_as_root(rootfs),
        repository=repository,
        tag=version,
        changes=[
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            'CMD ["sh"]',
        ],
    )
    docker_client.images.get(BUSYBOX_TAG)  # raises if the import silently produced nothing
    return BUSYBOX_TAG


def _tar_as_root(root: Path) -> bytes:
    """Tar ``root``'s contents owned by root:root, whoever runs the tests."""

    def owned_by_root(member: tarfile.TarInfo) -> tarfile.TarInfo:
        member.uid = member.gid = 0
        member.uname = member.gname = "root"
        return member

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for entry in sorted(root.iterdir()):
            archive.add(entry, arcname=entry.name, filter=owned_by_root)
    return buffer.getvalue()


@pytest.fixture
def build_image(docker_client: docker.DockerClient, tmp_path: Path) -> Iterator[ImageBuilder]:
    """Build images with the real docker CLI (classic or BuildKit); remove them afterwards."""
    built: list[BuiltImage] = []

    def build(
        dockerfile: str,
        files: dict[str, bytes | str] | None = None,
        *,
        buildargs: dict[str, str] | None = None,
        buildkit: bool = False,
        tag: str | None = None,
    ) -> BuiltImage:
        context = _new_directory(tmp_path, "build-context-")
        _write_context(context, dockerfile, files or {})
        image_tag = tag or f"hubguard-test/img-{secrets.token_hex(6)}:latest"
        command = [DOCKER_CLI, "build", "--network", "none", "--force-rm", "-t", image_tag]
        for name, value in (buildargs or {}).items():
            command += ["--build-arg", f"{name}={value}"]
        if buildkit:
            command += ["--progress", "plain"]
        command.append(str(context))
        environment = {**os.environ, "DOCKER_BUILDKIT": "1" if buildkit else "0"}
        result = _run_build(command, environment)
        if result is None:
            pytest.fail(f"docker build of {image_tag} took over {BUILD_TIMEOUT_SECONDS}s", pytrace=False)
        if result.returncode != 0:
            output = (result.stdout + result.stderr).splitlines()
            tail = "\n".join(output[-BUILD_OUTPUT_TAIL_LINES:])
            builder = "BuildKit" if buildkit else "classic"
            pytest.fail(f"docker build ({builder}) of {image_tag} failed:\n{tail}")
        image = BuiltImage(id=docker_client.images.get(image_tag).id, tag=image_tag)
        built.append(image)
        return image

    yield build

    for image in reversed(built):
        for reference in (image.tag, image.id):
            with contextlib.suppress(docker.errors.ImageNotFound):
                docker_client.images.remove(reference, force=True)


def _run_build(command: list[str], environment: dict[str, str]) -> subprocess.CompletedProcess[str] | None:
    """Run ``docker build``; None if it timed out."""
    try:
        return subprocess.run(
            command,
            env=environment,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_SECONDS,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return None


def _new_directory(parent: Path, prefix: str) -> Path:
    """A fresh directory under ``parent``, so one test can build several contexts."""
    directory = parent / f"{prefix}{secrets.token_hex(4)}"
    directory.mkdir()
    return directory


def _write_context(context: Path, dockerfile: str, files: dict[str, bytes | str]) -> None:
    """Lay out a build context; paths are relative POSIX paths that stay inside it."""
    (context / "Dockerfile").write_text(dockerfile)
    for name, content in files.items():
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts or name == "Dockerfile":
            raise ValueError(f"build_image: bad context file name {name!r}")
        target = context.joinpath(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)


@pytest.fixture(scope="session")
def registry() -> str:
    """``host:port`` of the plain-HTTP test registry, proven to answer ``GET /v2/``."""
    address = os.environ.get("HUBGUARD_TEST_REGISTRY")
    if not address:
        pytest.fail(
            "HUBGUARD_TEST_REGISTRY is not set: run `scripts/services.sh start` and source its env",
            pytrace=False,
        )
    problem = _registry_problem(address)
    if problem:
        pytest.fail(problem, pytrace=False)
    return address


def _registry_problem(address: str) -> str | None:
    """Why ``GET http://address/v2/`` did not answer 200, or None if it did."""
    # No proxy: an http_proxy meant for package downloads must not swallow a loopback request.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://{address}/v2/", timeout=10) as response:
            status = response.status
    except OSError as error:
        return f"no registry answering at {address}: {error}"
    if status != 200:
        return f"registry at {address} answered GET /v2/ with HTTP {status}, not 200"
    return None


@pytest.fixture
def fake_token() -> Callable[[str], str]:
    """Make fake secrets at test time, e.g. ``fake_token("ghp_{alnum:36}")``.

    Each call uses a fresh seed, so no token is committed and no two tests share one.
    """

    def make(template: str) -> str:
        if not PLACEHOLDER.search(template):
            raise ValueError(f"fake_token: {template!r} has no {{charset:N}} placeholder")
        return expand(template, seed=secrets.token_hex(8))

    return make


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets an empty layer cache, so no test passes on another's cached answers."""
    directory = tmp_path_factory.mktemp("hubguard-cache")
    monkeypatch.setenv("HUBGUARD_CACHE_DIR", str(directory))
    return directory


ENGINE_FIXTURES = frozenset({"docker_client", "busybox_image", "build_image", "registry", "engine"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that asks for the engine or the registry is an ``engine`` test, marked or not.

    So ``pytest -m "not engine"`` never selects one that would fail for want of an engine.
    """
    for item in items:
        if ENGINE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.engine)


@pytest.fixture(scope="session")
def real_stack(docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory) -> str:
    """``hubguard-real/stack:KEY``: the base image (debootstrap + apt) plus a pip/npm layer.

    Like the busybox base, both images stay in the engine for later runs.
    """
    key = recipe_key()
    stack, base = f"hubguard-real/stack:{key}", f"hubguard-real/base:{key}"
    if _has_image(docker_client, stack):
        return stack
    base_tar, app_tar = build_tarballs(cache_root() / key)
    if not _has_image(docker_client, base):
        run_docker(["import", "--change", 'CMD ["/bin/bash"]', str(base_tar), base])
    context = tmp_path_factory.mktemp("stack-context")
    os.link(app_tar, context / "app.tar")
    (context / "Dockerfile").write_text(f"FROM {base}\nADD app.tar /\n")
    run_docker(["build", "--network", "none", "--force-rm", "-t", stack, str(context)])
    return stack


def _has_image(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


def run_docker(arguments: list[str]) -> None:
    """The real docker CLI (the classic builder); a failure fails the test with its output."""
    done = subprocess.run(
        [DOCKER_CLI, *arguments],
        capture_output=True,
        text=True,
        env={**os.environ, "DOCKER_BUILDKIT": "0"},
        timeout=1800,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode:
        pytest.fail(f"docker {arguments[0]} failed:\n{(done.stdout + done.stderr)[-3000:]}", pytrace=False)
