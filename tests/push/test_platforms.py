"""Every platform that ``docker push`` sends is scanned (hole: other platforms pushed unscanned).

With the containerd image store (Docker 24+/25+), a tag can stand for an image index: the
engine's ``Id`` is the index digest, ``docker save`` (``GET /images/{id}/get``) exports every
local platform as OCI-in-tar, and ``docker push`` without ``--platform`` pushes all of them.
The engine here is 20.10 with the classic store, which cannot hold such an image, so these
tests run hubguard against a small local HTTP server that answers the few Docker Engine API
calls hubguard makes (``/_ping``, ``/version``, ``/images/{name}/json``, ``/images/{id}/get``)
from a real multi-platform OCI archive. Its platforms are real images built by the real engine
(one clean, one with a secret), saved by it, and repackaged as containerd exports them.
"""

from __future__ import annotations

import hashlib
import io
import json
import secrets
import subprocess
import tarfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.images import INDEX, oci_blobs_from_save
from tests.local_http import serving
from tests.push.running import push as run_push

pytestmark = pytest.mark.engine
API_VERSION = "1.44"


def multi_platform_archive(saves: dict[str, Path], name: str, drop: str = "") -> tuple[bytes, str]:
    """(OCI-in-tar bytes, index digest): one image index whose platforms are the given saves.
    ``drop`` leaves out every blob of that platform's manifest, as a partial containerd export."""
    blobs: dict[str, bytes] = {}
    children = []
    dropped: set[str] = set()
    for platform, save in saves.items():
        index, platform_blobs = oci_blobs_from_save(save, platforms=(platform,))
        nested = json.loads(platform_blobs[index["manifests"][0]["digest"]])
        child = nested["manifests"][0]
        children.append(child)
        blobs.update(platform_blobs)
        if platform == drop:
            manifest = json.loads(platform_blobs[child["digest"]])
            dropped |= {layer["digest"] for layer in manifest["layers"]}
    top = json.dumps({"schemaVersion": 2, "mediaType": INDEX, "manifests": children}).encode()
    top_digest = "sha256:" + hashlib.sha256(top).hexdigest()
    blobs[top_digest] = top
    index = {
        "schemaVersion": 2,
        "mediaType": INDEX,
        "manifests": [
            {
                "mediaType": INDEX,
                "digest": top_digest,
                "size": len(top),
                "annotations": {"io.containerd.image.name": name},
            }
        ],
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        members = [(f"blobs/sha256/{digest.split(':')[1]}", data) for digest, data in blobs.items()]
        members = [
            (member, data) for member, data in members if f"sha256:{member.rsplit('/', 1)[1]}" not in dropped
        ]
        members += [
            ("index.json", json.dumps(index).encode()),
            ("oci-layout", b'{"imageLayoutVersion": "1.0.0"}'),
        ]
        for member, data in members:
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue(), top_digest


def engine_api_handler(name: str, image_id: str, archive: bytes) -> type[BaseHTTPRequestHandler]:
    """The engine API calls hubguard makes, answered as a containerd-store engine would."""

    class Handler(BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            path = unquote(self.path.split("?", 1)[0])
            version_prefix = f"/v{API_VERSION}"
            path = path.removeprefix(version_prefix)
            if path == "/_ping":
                self.answer(200, b"OK", "text/plain")
            elif path == "/version":
                self.json({"ApiVersion": API_VERSION, "Version": "25.0.0", "MinAPIVersion": "1.24"})
            elif path in (f"/images/{name}/json", f"/images/{image_id}/json"):
                self.json({"Id": image_id, "RepoTags": [name], "RepoDigests": []})
            elif path == f"/images/{image_id}/get":
                self.answer(200, archive, "application/x-tar")
            else:
                self.json({"message": f"No such image: {path}"}, 404)

        def json(self, body: object, status: int = 200) -> None:
            self.answer(status, json.dumps(body).encode(), "application/json")

        def answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Api-Version", API_VERSION)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    return Handler


@pytest.fixture
def saves(build_image, busybox_image, docker_client, fake_token, tmp_path) -> dict[str, Path]:
    """Two real images saved by the engine: a clean one and one holding a GitHub token."""
    clean = build_image(f"FROM {busybox_image}\nCOPY a.txt /app/a.txt\n", {"a.txt": secrets.token_hex(8)})
    leaky = build_image(
        f"FROM {busybox_image}\nCOPY a.txt /app/a.txt\n", {"a.txt": f"token {fake_token('ghp_{alnum:36}')}\n"}
    )
    paths = {}
    for label, image in (("clean", clean), ("leaky", leaky)):
        path = tmp_path / f"{label}.tar"
        with path.open("wb") as out:
            for chunk in docker_client.api.get_image(image.id):
                out.write(chunk)
        paths[label] = path
    return paths


@pytest.fixture
def containerd_engine() -> Iterator:
    """``start(name, archive, image_id)`` serves the engine API on loopback; returns DOCKER_HOST."""
    with serving() as serve:
        yield lambda name, archive, image_id: "tcp://" + serve(engine_api_handler(name, image_id, archive))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    directory = tmp_path / "project"
    directory.mkdir()
    (directory / ".hubguard.toml").write_text('[visibility]\n"registry.example.com/*" = "public"\n')
    return directory


def push(*args: str, docker_host: str, cwd: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    environment = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "DOCKER_HOST": docker_host,
        "HUBGUARD_CACHE_DIR": str(tmp_path / "cache"),
    }
    return run_push(*args, cwd=cwd, env=environment)


NAME = "registry.example.com/team/multi:1"


def test_a_secret_in_a_non_host_platform_refuses_the_push(saves, containerd_engine, project, tmp_path):
    """amd64 (the host) is clean, arm64 leaks: docker push would send both, so it is refused."""
    archive, index_digest = multi_platform_archive(
        {"linux/amd64": saves["clean"], "linux/arm64": saves["leaky"]}, NAME
    )
    docker_host = containerd_engine(NAME, archive, index_digest)

    result = push(
        "--dry-run", "--format", "json", NAME, docker_host=docker_host, cwd=project, tmp_path=tmp_path
    )

    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert sorted(target["platform"] for target in report["targets"]) == ["linux/amd64", "linux/arm64"]
    assert [finding["rule_id"] for finding in report["findings"]] == ["github-pat-classic"]
    assert "nothing was pushed" in result.stderr
    # A second push reads the layer cache, and still sees both platforms.
    again = push(
        "--dry-run", "--format", "json", NAME, docker_host=docker_host, cwd=project, tmp_path=tmp_path
    )
    assert again.returncode == 1, again.stderr
    assert len(json.loads(again.stdout)["targets"]) == 2


def test_platform_option_scans_and_pushes_just_that_platform(saves, containerd_engine, project, tmp_path):
    archive, index_digest = multi_platform_archive(
        {"linux/amd64": saves["clean"], "linux/arm64": saves["leaky"]}, NAME
    )
    docker_host = containerd_engine(NAME, archive, index_digest)

    result = push(
        "--dry-run",
        "--platform",
        "linux/amd64",
        NAME,
        docker_host=docker_host,
        cwd=project,
        tmp_path=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    assert "github-pat-classic" not in result.stdout
    assert f"dry run: {NAME} would be pushed" in result.stderr


def test_a_platform_that_cannot_be_read_refuses_the_push(saves, containerd_engine, project, tmp_path):
    """A platform listed in the index whose layers the export lacks cannot be scanned, and
    docker push would still try to send it: refused, exit 3, one clear line."""
    archive, index_digest = multi_platform_archive(
        {"linux/amd64": saves["clean"], "linux/arm64": saves["leaky"]}, NAME, drop="linux/arm64"
    )
    docker_host = containerd_engine(NAME, archive, index_digest)

    result = push("--dry-run", NAME, docker_host=docker_host, cwd=project, tmp_path=tmp_path)

    assert result.returncode == 3, result.stderr
    assert "is missing, so it cannot be scanned" in result.stderr
    assert "Traceback" not in result.stderr
