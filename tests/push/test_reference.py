"""Reference parsing must agree with docker itself: the same names valid, the same normal form.

Expectations come from distribution/reference's own test tables, and two oracles run here
when available: the docker CLI (which refuses an invalid reference before it needs a daemon)
and the real engine (which normalises a tag and reports it back in familiar form).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import docker
import pytest
from docker.utils import parse_repository_tag

from hubguard.errors import InputError
from hubguard.push.reference import Reference, parse_reference, parse_repository

HEX64 = "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c"

# input -> (full normalised form, familiar name, domain, path)
NORMALISED = {
    "nginx": ("docker.io/library/nginx:latest", "nginx", "docker.io", "library/nginx"),
    "nginx:1.25": ("docker.io/library/nginx:1.25", "nginx", "docker.io", "library/nginx"),
    "docker.io/nginx": ("docker.io/library/nginx:latest", "nginx", "docker.io", "library/nginx"),
    "index.docker.io/library/debian": (
        "docker.io/library/debian:latest",
        "debian",
        "docker.io",
        "library/debian",
    ),
    "index.docker.io/fooo/bar": (
        "docker.io/fooo/bar:latest",
        "fooo/bar",
        "docker.io",
        "fooo/bar",
    ),
    "myname/myserver:1": ("docker.io/myname/myserver:1", "myname/myserver", "docker.io", "myname/myserver"),
    "other/library": ("docker.io/other/library:latest", "other/library", "docker.io", "other/library"),
    "library/foo/bar": (
        "docker.io/library/foo/bar:latest",
        "library/foo/bar",
        "docker.io",
        "library/foo/bar",
    ),
    "test_com/foo": ("docker.io/test_com/foo:latest", "test_com/foo", "docker.io", "test_com/foo"),
    "test.com/foo": ("test.com/foo:latest", "test.com/foo", "test.com", "foo"),
    "test-com:8080/foo": ("test-com:8080/foo:latest", "test-com:8080/foo", "test-com:8080", "foo"),
    "localhost/app": ("localhost/app:latest", "localhost/app", "localhost", "app"),
    "localhost:5000/team/app:v2": (
        "localhost:5000/team/app:v2",
        "localhost:5000/team/app",
        "localhost:5000",
        "team/app",
    ),
    "127.0.0.1:8000/privatebase": (
        "127.0.0.1:8000/privatebase:latest",
        "127.0.0.1:8000/privatebase",
        "127.0.0.1:8000",
        "privatebase",
    ),
    "[fc00::1]:5000/docker/docker": (
        "[fc00::1]:5000/docker/docker:latest",
        "[fc00::1]:5000/docker/docker",
        "[fc00::1]:5000",
        "docker/docker",
    ),
    "xn--n3h.com:18080/foo": (
        "xn--n3h.com:18080/foo:latest",
        "xn--n3h.com:18080/foo",
        "xn--n3h.com:18080",
        "foo",
    ),
    # Uppercase first component: a registry, because namespaces are never uppercase.
    "Foo/bar": ("Foo/bar:latest", "Foo/bar", "Foo", "bar"),
    # A single component is always an official image, even when it looks like a host.
    "localhost": ("docker.io/library/localhost:latest", "localhost", "docker.io", "library/localhost"),
    "192.168.0.1:80": ("docker.io/library/192.168.0.1:80", "192.168.0.1", "docker.io", "library/192.168.0.1"),
    # With a domain, 64 hex characters are a name, not an image ID.
    f"docker.io/{HEX64}": (
        f"docker.io/library/{HEX64}:latest",
        HEX64,
        "docker.io",
        f"library/{HEX64}",
    ),
    "dock__er/docker---rules": (
        "docker.io/dock__er/docker---rules:latest",
        "dock__er/docker---rules",
        "docker.io",
        "dock__er/docker---rules",
    ),
}

# input -> words the one-line error must contain
INVALID = {
    "": "at least one component",
    HEX64: "image ID",
    "Nginx": "must be lowercase",
    "docker/Docker": "must be lowercase",
    "docker.io/docker/Docker": "must be lowercase",
    "-docker": "invalid repository name '-docker'",
    "docker-/docker": "invalid repository name",
    "docker///docker": "invalid repository name",
    "dock..er/docker": "invalid registry host 'dock..er'",
    "____/____": "invalid repository name",
    "docker/": "invalid repository name",
    "foo:bar:baz": "invalid tag 'bar:baz'",
    "foo:-x": "invalid tag '-x'",
    "foo:" + "t" * 129: "invalid tag",
    "https://github.com/docker/docker": "invalid",
    "a:b/c": "invalid registry host 'a:b'",
    "-docker.io/docker/docker": "invalid registry host",
    "[fc00::1]:5000": "invalid",
    "[fe80::1%eth0]:5000/debian": "invalid registry host",
    "foo@sha256:abc": "invalid digest 'sha256:abc'",
    "foo@md5:" + "a" * 32: "unsupported digest algorithm 'md5'",
    "foo@sha256:" + "a" * 63: "expected 64 hex characters, got 63",
    "foo@sha256:" + "A" * 64: "lowercase hexadecimal",
    "x/" + "a" * 255: "must not be more than 255 characters",
    "foo\n": "invalid repository name",
    "foo bar": "invalid repository name 'foo bar'",
}


@pytest.mark.parametrize("text", NORMALISED)
def test_normalises_like_distribution_reference(text: str) -> None:
    full, familiar, domain, path = NORMALISED[text]
    ref = parse_reference(text)
    assert (str(ref), ref.familiar, ref.domain, ref.path) == (full, familiar, domain, path)
    assert ref.name == f"{domain}/{path}"
    assert parse_reference(full) == ref, "the normal form must parse to itself"


@pytest.mark.parametrize("text", INVALID)
def test_invalid_reference_is_one_clear_line(text: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_reference(text)
    message = str(caught.value)
    assert INVALID[text] in message
    assert message.startswith("invalid image reference ")
    assert "\n" not in message
    assert len(message) < 400, "a huge input must not produce a huge message"


def test_default_tag_only_without_digest() -> None:
    digest = f"sha256:{HEX64}"
    by_digest = parse_reference(f"busybox@{digest}")
    assert (by_digest.tag, by_digest.digest) == (None, digest)
    assert str(by_digest) == f"docker.io/library/busybox@{digest}"

    both = parse_reference(f"busybox:1.36@{digest}")
    assert str(both) == f"docker.io/library/busybox:1.36@{digest}"
    assert both.familiar_string == f"busybox:1.36@{digest}"
    assert parse_reference("busybox").tag == "latest"


def test_parse_repository_refuses_tag_and_digest() -> None:
    assert parse_repository("myname/myserver") == Reference("docker.io", "myname/myserver")
    for text in ("myname/myserver:1", f"myname/myserver@sha256:{HEX64}"):
        with pytest.raises(InputError, match="without a tag or digest"):
            parse_repository(text)
    with pytest.raises(InputError, match="must be lowercase"):
        parse_repository("MyName/x/Y")


def test_with_tag_validates_and_drops_digest() -> None:
    ref = parse_reference(f"localhost:5000/app@sha256:{HEX64}")
    assert str(ref.with_tag("v1.2")) == "localhost:5000/app:v1.2"
    with pytest.raises(InputError, match=r"invalid tag '\.bad'"):
        ref.with_tag(".bad")


def test_is_docker_hub() -> None:
    assert parse_reference("index.docker.io/me/app").is_docker_hub
    assert not parse_reference("registry.example.com/me/app").is_docker_hub


# The first docker CLI on PATH; it must be new enough to embed today's distribution/reference.
DOCKER_CLI = shutil.which("docker")
MIN_CLI_MAJOR = 25


@pytest.fixture(scope="module")
def docker_cli() -> str:
    """The docker CLI used as the validity oracle; a missing or old one fails, never skips."""
    if DOCKER_CLI is None:
        pytest.fail("no docker CLI on PATH", pytrace=False)
    version = subprocess.run(
        [DOCKER_CLI, "version", "--format", "{{.Client.Version}}"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"},
        check=False,
    ).stdout.strip()
    if not version.split(".")[0].isdigit() or int(version.split(".")[0]) < MIN_CLI_MAJOR:
        pytest.fail(f"{DOCKER_CLI} is version {version!r}; need {MIN_CLI_MAJOR}+", pytrace=False)
    return DOCKER_CLI


@pytest.mark.parametrize("text", [*NORMALISED, *(t for t in INVALID if t and "\n" not in t)])
def test_validity_matches_the_docker_cli(text: str, docker_cli: str, tmp_path: Path) -> None:
    """`docker push` checks the reference before it connects, so a dead socket is enough."""
    result = subprocess.run(
        [docker_cli, "push", text],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/none.sock", "DOCKER_CONFIG": str(tmp_path)},
        check=False,
    )
    docker_accepts = "Cannot connect to the Docker daemon" in result.stderr
    assert result.returncode != 0
    try:
        parse_reference(text)
        ours = True
    except InputError:
        ours = False
    assert ours == docker_accepts, result.stderr


@pytest.mark.engine
def test_familiar_form_matches_the_engine(docker_client: docker.DockerClient) -> None:
    """Tag an empty image with each name; the engine reports the tags in familiar form."""
    empty_tar = b"\0" * 1024  # an empty tar archive: two zero blocks
    source = f"hubguard-test-reference-{uuid.uuid4().hex[:12]}"
    answer = docker_client.api.import_image_from_data(empty_tar, repository=source, tag="src")
    image_id = json.loads(answer.strip().splitlines()[-1])["status"]
    # dockerd 20.10 predates uppercase and IPv6 registry hosts; the CLI oracle covers those.
    names = [text for text in NORMALISED if text[0] != "[" and text.lower() == text]
    try:
        for text in names:
            repository, tag = parse_repository_tag(text)  # the raw text, for the engine to normalise
            docker_client.api.tag(image_id, repository, tag)
        tags = set(docker_client.images.get(image_id).tags)
    finally:
        docker_client.images.remove(image_id, force=True)
    expected = {parse_reference(text).familiar_string for text in names}
    assert expected <= tags
