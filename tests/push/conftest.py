"""Fixtures of the push tests: a project whose config says which loopback repositories are
public or private, images to push, and tags removed again afterwards."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import docker.errors
import pytest


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory whose .hubguard.toml makes ``public/*`` public and ``private/*``
    private on any loopback registry; user config and layer cache are kept out of the way."""
    directory = tmp_path / "project"
    directory.mkdir()
    (directory / ".hubguard.toml").write_text(
        '[visibility]\n"127.0.0.1:*/public/*" = "public"\n"127.0.0.1:*/private/*" = "private"\n'
    )
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HUBGUARD_CACHE_DIR", str(tmp_path / "cache"))
    return directory


@pytest.fixture
def tag(docker_client: docker.DockerClient) -> Iterator[Callable[[str, str], str]]:
    """``tag(image, "registry/repo:tag")`` tags an image in the engine; untagged afterwards."""
    made: list[str] = []

    def make(image: str, reference: str) -> str:
        repository, _, version = reference.rpartition(":")
        assert docker_client.api.tag(image, repository, version)
        made.append(reference)
        return reference

    yield make
    for reference in made:
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_client.api.remove_image(reference)


@pytest.fixture
def leaky_image(build_image, busybox_image, fake_token) -> str:
    """An image whose file holds a SendGrid key: a high finding, below the private threshold."""
    key = fake_token("SG.{b64url:22}.{b64url:43}")
    image = build_image(
        f"FROM {busybox_image}\nCOPY mail.conf /app/mail.conf\n", {"mail.conf": f"relay_key: {key}\n"}
    )
    return image.id


@pytest.fixture
def clean_image(build_image, busybox_image) -> str:
    """A harmless image with unique content, so pushing and pulling it moves a new layer."""
    image = build_image(
        f"FROM {busybox_image}\nCOPY hello.txt /app/hello.txt\n",
        {"hello.txt": f"hello {secrets.token_hex(8)}\n"},
    )
    return image.id
