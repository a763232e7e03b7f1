"""``hubguard push`` never pushes after a layer digest mismatch (issue 10 item 1), shown on the
real engine: a file of a built image's layer is changed in the engine's own vfs storage, so the
engine's export of that layer no longer matches the diff_id in the image config.

The engine rebuilds a layer's tar from its directory with tar-split, which keeps a CRC-64 of
each file, and verifies the rebuilt tar against the layer's diff_id as it streams. Left alone,
the CRC check stops the export half-way, naming the file; with the CRC rewritten too (what a
tampered store would do), the diff_id check stops it, naming the layer. hubguard's own check of
every layer against its diff_id (tests/hostile, tests/test_scan.py) is the next line behind
those two. Either way the scan is incomplete: exit 3, and the registry never gets a manifest.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import secrets
from pathlib import Path

import docker
import pytest

from tests.push.running import manifest, path_of, repository, run_hubguard

pytestmark = pytest.mark.engine


def chain_ids(diff_ids: list[str]) -> list[str]:
    """The layer store's ids: ``chain(n) = sha256(chain(n-1) + " " + diff_id(n))``."""
    chains = [diff_ids[0]]
    for diff_id in diff_ids[1:]:
        chains.append("sha256:" + hashlib.sha256(f"{chains[-1]} {diff_id}".encode()).hexdigest())
    return chains


def top_layer(client: docker.DockerClient, image_id: str) -> tuple[Path, Path]:
    """(vfs directory holding the image's top layer, its layerdb entry)."""
    info = client.info()
    assert info["Driver"] == "vfs", "the test engine runs vfs (scripts/services.sh)"
    root = Path(info["DockerRootDir"])
    diff_ids = client.api.inspect_image(image_id)["RootFS"]["Layers"]
    entry = root / "image" / "vfs" / "layerdb" / "sha256" / chain_ids(diff_ids)[-1].removeprefix("sha256:")
    return root / "vfs" / "dir" / (entry / "cache-id").read_text().strip(), entry


def crc64_iso(data: bytes) -> bytes:
    """Go's ``crc64.Checksum(data, crc64.MakeTable(crc64.ISO))``, big-endian, as tar-split keeps it."""
    table = []
    for index in range(256):
        crc = index
        for _ in range(8):
            crc = (crc >> 1) ^ 0xD800000000000000 if crc & 1 else crc >> 1
        table.append(crc)
    crc = 0xFFFFFFFFFFFFFFFF
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return (crc ^ 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")


def rewrite_checksum(entry: Path, name: str, content: bytes) -> None:
    """Give ``name`` in the layer's tar-split record the CRC-64 of ``content``."""
    records = [
        json.loads(line) for line in gzip.decompress((entry / "tar-split.json.gz").read_bytes()).splitlines()
    ]
    changed = [record for record in records if record.get("name") == name]
    assert len(changed) == 1
    changed[0]["payload"] = base64.b64encode(crc64_iso(content)).decode()
    lines = b"".join(json.dumps(record, separators=(",", ":")).encode() + b"\n" for record in records)
    (entry / "tar-split.json.gz").write_bytes(gzip.compress(lines))


@pytest.mark.parametrize("checksum", ["kept", "rewritten"])
def test_a_layer_changed_in_the_engine_is_named_and_nothing_is_pushed(
    registry, project, tag, build_image, busybox_image, docker_client, checksum
):
    content = f"hello from a layer that will be changed {secrets.token_hex(8)}\n"  # never a cached build
    image = build_image(f"FROM {busybox_image}\nCOPY a.txt /app/a.txt\n", {"a.txt": content})
    diff_id = docker_client.api.inspect_image(image.id)["RootFS"]["Layers"][-1]
    directory, entry = top_layer(docker_client, image.id)
    stored = directory / "app" / "a.txt"
    assert stored.read_text() == content
    stored.write_text(content.upper())  # same size, other bytes
    if checksum == "rewritten":
        rewrite_checksum(entry, "app/a.txt", content.upper().encode())
    name = repository(registry, "private")  # a clean image, allowed there: only the mismatch stops it
    tag(image.id, f"{name}:1")

    result = run_hubguard("push", f"{name}:1", cwd=project)

    assert result.returncode == 3, result.stderr
    assert "from the engine failed: " in result.stderr
    if checksum == "kept":  # tar-split's CRC check: the file is named
        assert 'file integrity checksum failed for "app/a.txt"' in result.stderr
    else:  # the rebuilt tar against its diff_id: the layer is named
        assert f"could not verify layer data for: {diff_id}" in result.stderr
    assert "Traceback" not in result.stderr
    assert "pushed" not in result.stderr.replace("nothing was pushed", "")
    assert manifest(registry, path_of(name), "1")[0] == 404
