"""`hubguard push` to Docker Hub names, against the real engine and the local Docker Hub API
stand-in (tests/fake_hub.py). Nothing here reaches the real Docker Hub: every case ends before
docker push runs (a check, a refusal, or --dry-run)."""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest

from tests.fake_hub import USER, FakeHub, auths_login, running_hub
from tests.push.running import push

pytestmark = pytest.mark.engine


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    with running_hub() as state:
        monkeypatch.setenv("HUBGUARD_HUB_API_URL", state.url)
        yield state


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "project"
    directory.mkdir()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "not-logged-in"))
    monkeypatch.delenv("DOCKER_AUTH_CONFIG", raising=False)
    return directory


@pytest.fixture
def logged_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``docker login`` as alice, recorded the way docker records it."""
    directory = auths_login(tmp_path / "docker-login")
    monkeypatch.setenv("DOCKER_CONFIG", str(directory))
    return directory


@pytest.fixture
def hub_image(docker_client: docker.DockerClient, build_image, busybox_image, fake_token):
    """``hub_image(name, leaky=...)`` builds an image and tags it ``name`` (a Docker Hub name)."""
    tagged: list[str] = []

    def make(name: str, *, secret: str = "") -> str:
        content = f"token {fake_token(secret)}\n" if secret else f"hello {secrets.token_hex(8)}\n"
        image = build_image(f"FROM {busybox_image}\nCOPY a.txt /app/a.txt\n", {"a.txt": content})
        repository, _, version = name.rpartition(":")
        docker_client.api.tag(image.id, repository, version)
        tagged.append(name)
        return image.id

    yield make
    for name in tagged:
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_client.api.remove_image(name)


def test_first_time_user_pushing_an_official_name_while_logged_out_gets_the_tutorials_explanation(
    hub, project, docker_client
):
    """`hubguard push myserver:1`, not logged in: no scan, one line that says both problems."""
    started = time.monotonic()
    result = push("myserver:1", cwd=project)
    elapsed = time.monotonic() - started

    assert result.returncode == 2
    assert result.stdout == ""  # no report: nothing was scanned
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert (
        "myserver:1 means docker.io/library/myserver, the namespace reserved for Docker official images"
        in lines[0]
    )
    assert "docker tag myserver:1 USERNAME/myserver:1 && hubguard push USERNAME/myserver:1" in lines[0]
    assert "you are not logged in either: run docker login first" in lines[0]
    assert hub.lookups == []
    assert elapsed < 30  # a Python start and a config read; no engine work at all


def test_official_name_uses_the_logged_in_username(hub, project, logged_in):
    result = push("myserver:1", cwd=project)

    assert result.returncode == 2
    assert f"docker tag myserver:1 {USER}/myserver:1 && hubguard push {USER}/myserver:1" in result.stderr
    assert "not logged in" not in result.stderr


def test_not_logged_in_says_docker_login_before_any_scan(hub, project):
    result = push(f"{USER}/app:1", cwd=project)

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("hubguard: error: you are not logged in to Docker Hub (")
    assert (
        f"run docker login, then hubguard push {USER}/app:1 again; nothing was scanned or pushed"
        in result.stderr
    )


def test_docker_auth_config_counts_as_logged_in(hub, project, hub_image, monkeypatch):
    import base64
    import json

    from tests.fake_hub import SECRET

    encoded = base64.b64encode(f"{USER}:{SECRET}".encode()).decode()
    monkeypatch.setenv(
        "DOCKER_AUTH_CONFIG", json.dumps({"auths": {"https://index.docker.io/v1/": {"auth": encoded}}})
    )
    hub.repositories[f"{USER}/app"] = False
    hub_image(f"{USER}/app:1")

    result = push("--dry-run", f"{USER}/app:1", cwd=project)

    assert result.returncode == 0, result.stderr
    assert f"{USER}/app is public (Docker Hub API)" in result.stderr


def test_wrong_namespace_is_a_warning_naming_user_and_organizations(hub, project, logged_in, hub_image):
    hub.organizations = ["acme"]
    hub.repositories["bob/app"] = False
    hub_image("bob/app:1")

    result = push("--dry-run", "bob/app:1", cwd=project)

    assert result.returncode == 0, result.stderr
    assert (
        "hubguard: warning: bob/app is in namespace 'bob', but you are logged in to Docker Hub as "
        "'alice' and your organizations are: acme" in result.stderr
    )
    assert "docker tag bob/app:1 alice/app:1" in result.stderr


def test_an_organization_of_the_user_gets_no_warning(hub, project, logged_in, hub_image):
    hub.organizations = ["acme"]
    hub.repositories["acme/app"] = False
    hub_image("acme/app:1")

    result = push("--dry-run", "acme/app:1", cwd=project)

    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr


def test_missing_repository_is_created_public_by_the_first_push_and_that_is_said(
    hub, project, logged_in, hub_image
):
    hub_image(f"{USER}/new-app:1", secret="SG.{b64url:22}.{b64url:43}")

    result = push(f"{USER}/new-app:1", cwd=project)

    assert result.returncode == 1, result.stderr
    assert "the first push creates the repository public" in result.stderr
    assert "--create-private creates it private first" in result.stderr
    assert "nothing was pushed" in result.stderr
    # The refusal gives Docker Hub's setting and the exact [visibility] line, with the real name.
    assert f"hub.docker.com/repository/docker/{USER}/new-app/settings → Visibility settings" in result.stderr
    assert f'"docker.io/{USER}/new-app" = "private"' in result.stderr
    assert f"hubguard baseline {USER}/new-app:1" in result.stderr


def test_config_private_loses_to_docker_hub_public(hub, project, logged_in, hub_image):
    (project / ".hubguard.toml").write_text(f'[visibility]\n"{USER}/*" = "private"\n')
    hub.repositories[f"{USER}/public-app"] = False
    hub_image(f"{USER}/public-app:1", secret="SG.{b64url:22}.{b64url:43}")  # high: passes private

    result = push(f"{USER}/public-app:1", cwd=project)

    assert result.returncode == 1, result.stderr
    assert "config says private, Docker Hub says public" in result.stderr
    assert "for a push to a public repository" in result.stderr


def test_create_private_creates_the_repository_private_before_deciding(hub, project, logged_in, hub_image):
    """The repository is created through the documented endpoint; only then does Hub's own
    answer (private) decide. A critical finding is still refused for a private repository."""
    hub_image(f"{USER}/fresh:1", secret="ghp_{alnum:36}")

    result = push("--create-private", f"{USER}/fresh:1", cwd=project)

    assert hub.created == [
        (f"/v2/namespaces/{USER}/repositories", {"name": "fresh", "namespace": USER, "is_private": True})
    ]
    assert f"hubguard: created {USER}/fresh on Docker Hub as a private repository" in result.stderr
    assert f"hubguard: {USER}/fresh is private (Docker Hub API)" in result.stderr
    assert result.returncode == 1  # critical is refused even for a private repository
    assert "for a push to a private repository" in result.stderr


def test_create_private_dry_run_creates_nothing(hub, project, logged_in, hub_image):
    hub_image(f"{USER}/fresh:1")

    result = push("--create-private", "--dry-run", f"{USER}/fresh:1", cwd=project)

    assert result.returncode == 0, result.stderr
    assert hub.created == []
    assert f"dry run: would create {USER}/fresh on Docker Hub as a private repository" in result.stderr


def test_create_private_refused_by_hub_stops_everything(hub, project, logged_in, hub_image):
    hub.organizations = ["acme"]
    hub_image("bob/fresh:1")

    result = push("--create-private", "bob/fresh:1", cwd=project)

    assert result.returncode == 2
    assert (
        "Docker Hub refused to create bob/fresh private (HTTP 403: forbidden); nothing was pushed"
        in result.stderr
    )
    assert result.stdout == ""


def test_create_private_is_for_docker_hub_only(project, registry, tag_registry_image):
    name = tag_registry_image
    result = push("--create-private", name, cwd=project)

    assert result.returncode == 2
    assert "--create-private works for Docker Hub repositories only" in result.stderr


@pytest.fixture
def tag_registry_image(docker_client, busybox_image, registry) -> Iterator[str]:
    name = f"{registry}/private/app-{secrets.token_hex(4)}:1"
    repository, _, version = name.rpartition(":")
    docker_client.api.tag(busybox_image, repository, version)
    yield name
    docker_client.api.remove_image(name)


def test_create_private_leaves_an_existing_public_repository_public(hub, project, logged_in, hub_image):
    hub.repositories[f"{USER}/open"] = False
    hub_image(f"{USER}/open:1", secret="SG.{b64url:22}.{b64url:43}")

    result = push("--create-private", f"{USER}/open:1", cwd=project)

    assert result.returncode == 1, result.stderr
    assert hub.created == []
    assert (
        f"--create-private: {USER}/open exists on Docker Hub already, so nothing was created" in result.stderr
    )
    assert "for a push to a public repository" in result.stderr
