"""``hubguard push`` never pushes after a layer digest mismatch (issue 10 item 1), shown on the
real engine: a file of a built image's layer is changed in the engine's own vfs storage, so the
engine's export of that layer no longer matches the diff_id in the image config."""

from __future__ import annotations

import hashlib
from pathlib import Path

import docker
import pytest

from tests.push.running import manifest, path_of, repository, run_hubguard

pytestmark = pytest.mark.engine
CONTENT = "hello from a layer that will be changed\n"


def chain_ids(diff_ids: list[str]) -> list[str]:
    """The layer store's ids: ``chain(n) = sha256(chain(n-1) + " " + diff_id(n))``."""
    chains = [diff_ids[0]]
    for diff_id in diff_ids[1:]:
        chains.append("sha256:" + hashlib.sha256(f"{chains[-1]} {diff_id}".encode()).hexdigest())
    return chains


def layer_directory(client: docker.DockerClient, image_id: str) -> Path:
    """The vfs directory that holds the image's top layer (vfs keeps a full copy per layer)."""
    info = client.info()
    assert info["Driver"] == "vfs", "the test engine runs vfs (scripts/services.sh)"
    root = Path(info["DockerRootDir"])
    diff_ids = client.api.inspect_image(image_id)["RootFS"]["Layers"]
    chain = chain_ids(diff_ids)[-1].removeprefix("sha256:")
    cache_id = (root / "image" / "vfs" / "layerdb" / "sha256" / chain / "cache-id").read_text().strip()
    return root / "vfs" / "dir" / cache_id


def test_a_layer_changed_in_the_engine_is_named_and_nothing_is_pushed(
    registry, project, tag, build_image, busybox_image, docker_client
):
    image = build_image(f"FROM {busybox_image}\nCOPY a.txt /app/a.txt\n", {"a.txt": CONTENT})
    diff_id = docker_client.api.inspect_image(image.id)["RootFS"]["Layers"][-1]
    stored = layer_directory(docker_client, image.id) / "app" / "a.txt"
    assert stored.read_text() == CONTENT
    stored.write_text(CONTENT.upper())  # same size: the export streams, and no longer matches
    name = repository(registry, "private")  # a clean image, allowed there: only the mismatch stops it
    tag(image.id, f"{name}:1")

    result = run_hubguard("push", f"{name}:1", cwd=project)

    assert result.returncode == 3, result.stderr
    assert "does not match its digest" in result.stderr
    assert diff_id in result.stderr or diff_id[:19] in result.stderr  # the layer is named
    assert "Traceback" not in result.stderr
    assert "pushed" not in result.stderr.replace("nothing was pushed", "")
    assert manifest(registry, path_of(name), "1")[0] == 404
