"""`hubguard push` against the real engine, the real docker CLI and a real registry on loopback:
a refusal leaves no manifest behind, an allowed push is the scanned image, byte for byte."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import pty
import re
import secrets
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import docker
import docker.errors
import pytest

import hubguard.push
from hubguard import cli

pytestmark = pytest.mark.engine

DOCKER_CLI = "/usr/bin/docker"
MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
    )
)
FINGERPRINT_LINE = re.compile(r"^hubguard:   fingerprint:([0-9a-f]{32})  # ", re.MULTILINE)
PUSHED_LINE = re.compile(r"^hubguard: pushed (\S+) as (sha256:[0-9a-f]{64}) ", re.MULTILINE)
PUSH_TIMEOUT = 300


def run_hubguard(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hubguard", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=PUSH_TIMEOUT,
    )


def manifest(registry: str, repository: str, tag: str) -> tuple[int, str]:
    """(HTTP status, Docker-Content-Digest) of ``HEAD /v2/<repository>/manifests/<tag>``."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(
        f"http://{registry}/v2/{repository}/manifests/{tag}",
        method="HEAD",
        headers={"Accept": MANIFEST_TYPES},
    )
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.headers.get("Docker-Content-Digest", "")
    except urllib.error.HTTPError as error:
        return error.code, ""


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


def repository(registry: str, visibility: str) -> str:
    return f"{registry}/{visibility}/app-{secrets.token_hex(4)}"


def path_of(name: str) -> str:
    return name.split("/", 1)[1]


def test_leaky_image_to_a_public_repository_is_refused_and_the_registry_has_nothing(
    registry, project, tag, leaky_image
):
    name = repository(registry, "public")
    tag(leaky_image, f"{name}:1")

    result = run_hubguard("push", f"{name}:1", cwd=project)

    assert result.returncode == 1, result.stderr
    assert f"{name} is public (config: {project / '.hubguard.toml'}" in result.stderr
    assert "refused: 1 finding at or above severity low for a push to a public repository" in result.stderr
    assert "sendgrid" in result.stdout.lower()
    fingerprints = FINGERPRINT_LINE.findall(result.stderr)
    assert len(fingerprints) == 1
    assert fingerprints[0][:12] in result.stdout  # the report's fingerprint column
    assert "hubguard: nothing was pushed" in result.stderr
    assert "Traceback" not in result.stderr
    assert manifest(registry, path_of(name), "1") == (404, "")


def test_the_listed_fingerprint_in_hubguardignore_lets_the_push_through(registry, project, tag, leaky_image):
    name = repository(registry, "public")
    tag(leaky_image, f"{name}:1")
    refused = run_hubguard("push", f"{name}:1", cwd=project)
    (fingerprint,) = FINGERPRINT_LINE.findall(refused.stderr)
    (project / ".hubguardignore").write_text(f"fingerprint:{fingerprint}  # test relay, revoked\n")

    result = run_hubguard("push", f"{name}:1", cwd=project)

    assert result.returncode == 0, result.stderr
    assert "1 finding suppressed by .hubguardignore" in " ".join(result.stdout.split())
    assert manifest(registry, path_of(name), "1")[0] == 200


def test_same_image_to_a_private_repository_is_pushed_with_warnings(registry, project, tag, leaky_image):
    name = repository(registry, "private")
    tag(leaky_image, f"{name}:1")

    result = run_hubguard("push", f"{name}:1", cwd=project)

    assert result.returncode == 0, result.stderr
    assert f"{name} is private (config: " in result.stderr
    assert "allowed with 1 finding as warnings (below severity critical)" in result.stderr
    assert "sendgrid" in result.stdout.lower()
    status, digest = manifest(registry, path_of(name), "1")
    assert status == 200
    assert PUSHED_LINE.findall(result.stderr) == [(f"{name}:1", digest)]
    assert f"1: digest: {digest}" in result.stdout  # docker's own progress, passed through


def test_clean_image_is_pushed_and_pulls_back_as_the_same_image(
    registry, project, tag, clean_image, docker_client
):
    name = repository(registry, "public")
    tag(clean_image, f"{name}:1")

    result = run_hubguard("push", f"{name}:1", cwd=project)

    assert result.returncode == 0, result.stderr
    assert "No secrets found" in result.stdout
    docker_client.images.remove(clean_image, force=True)
    pulled = subprocess.run([DOCKER_CLI, "pull", f"{name}:1"], capture_output=True, text=True, timeout=120)
    assert pulled.returncode == 0, pulled.stderr
    assert docker_client.images.get(f"{name}:1").id == clean_image


def test_tag_repointed_between_scan_and_push_is_refused(
    registry, project, tag, clean_image, busybox_image, docker_client, monkeypatch, capsys
):
    """The engine re-tags the image after the scan and decision, just before the push."""
    name = repository(registry, "public")
    tag(clean_image, f"{name}:1")
    decide = hubguard.push.decide

    def decide_then_retag(*args, **kwargs):
        decision = decide(*args, **kwargs)
        tag(busybox_image, f"{name}:1")
        return decision

    monkeypatch.setattr(hubguard.push, "decide", decide_then_retag)
    monkeypatch.chdir(project)

    code = cli.main(["push", f"{name}:1"])

    stderr = capsys.readouterr().err
    assert code == 3, stderr
    assert f"refused: {name}:1 now points at image" in stderr
    assert manifest(registry, path_of(name), "1") == (404, "")


class FailingManifestPuts(BaseHTTPRequestHandler):
    """A proxy in front of the registry that passes every layer upload through and then
    answers 500 to the manifest: the push fails after its layers have gone out. (A 500 on the
    layer uploads themselves fails too, but only after the daemon's five retries, ~50 s.)"""

    upstream = ""
    address = ""
    protocol_version = "HTTP/1.1"
    completed_uploads: list[str]

    def do_GET(self) -> None:
        self._forward()

    def do_HEAD(self) -> None:
        self._forward()

    def do_POST(self) -> None:
        self._forward()

    def do_PATCH(self) -> None:
        self._forward()

    def do_PUT(self) -> None:
        if "/manifests/" not in self.path:
            self._forward()
            return
        self._request_body()
        body = b"storage backend exploded\n"
        self.send_response(500)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _request_body(self) -> bytes:
        """The body, whether sent with Content-Length or chunked (docker streams layers)."""
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = bytearray()
        while size := int(self.rfile.readline().split(b";")[0], 16):
            body += self.rfile.read(size)
            self.rfile.readline()
        self.rfile.readline()
        return bytes(body)

    def _forward(self) -> None:
        body = self._request_body()
        skipped = ("connection", "transfer-encoding", "content-length")
        headers = {key: value for key, value in self.headers.items() if key.lower() not in skipped}
        headers["Content-Length"] = str(len(body))
        connection = http.client.HTTPConnection(self.upstream, timeout=30)
        connection.request(self.command, self.path, body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        if self.command == "PUT" and response.status == 201:
            self.completed_uploads.append(self.path)
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in skipped:
                self.send_header(key, value)
        self.send_header("Content-Length", response.getheader("Content-Length") or str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        connection.close()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test asserts on hubguard's output, not the proxy's."""


@pytest.fixture
def failing_registry(registry: str) -> Iterator[type[FailingManifestPuts]]:
    """The proxy's handler class; its ``address`` is what to push to."""
    handler = type("Handler", (FailingManifestPuts,), {"upstream": registry, "completed_uploads": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.address = f"127.0.0.1:{server.server_address[1]}"
    yield handler
    server.shutdown()
    server.server_close()


def test_registry_failing_mid_push_exits_3_with_a_clear_message(
    registry, failing_registry, project, tag, clean_image
):
    name = repository(failing_registry.address, "public")
    tag(clean_image, f"{name}:1")

    result = run_hubguard("push", f"{name}:1", cwd=project)

    assert failing_registry.completed_uploads, "the layers should have been uploaded first"
    assert result.returncode == 3, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"hubguard: error: docker push {name}:1 failed (exit 1): "), last
    assert "500" in last
    assert "Traceback" not in result.stderr
    assert manifest(registry, path_of(name), "1") == (404, "")


def test_all_tags_with_one_leaky_tag_pushes_nothing(registry, project, tag, clean_image, leaky_image):
    name = repository(registry, "public")
    tag(clean_image, f"{name}:clean")
    tag(leaky_image, f"{name}:leaky")

    result = run_hubguard("push", "--all-tags", name, cwd=project)

    assert result.returncode == 1, result.stderr
    assert "nothing was pushed" in result.stderr
    assert manifest(registry, path_of(name), "clean") == (404, "")
    assert manifest(registry, path_of(name), "leaky") == (404, "")


def test_all_tags_pushes_every_tag_when_all_are_clean(registry, project, tag, clean_image, busybox_image):
    name = repository(registry, "public")
    tag(clean_image, f"{name}:1")
    tag(busybox_image, f"{name}:base")

    result = run_hubguard("push", "-a", name, cwd=project)

    assert result.returncode == 0, result.stderr
    pushed = dict(PUSHED_LINE.findall(result.stderr))
    assert set(pushed) == {f"{name}:1", f"{name}:base"}
    for version in ("1", "base"):
        assert manifest(registry, path_of(name), version) == (200, pushed[f"{name}:{version}"])


def test_findings_can_be_written_as_sarif_while_pushing(registry, project, tag, leaky_image):
    name = repository(registry, "private")
    tag(leaky_image, f"{name}:1")
    sarif = project / "push.sarif"

    result = run_hubguard("push", "--format", "sarif", "--output", str(sarif), f"{name}:1", cwd=project)

    assert result.returncode == 0, result.stderr
    results = json.loads(sarif.read_text())["runs"][0]["results"]
    assert len(results) == 1


def test_push_under_a_terminal_passes_docker_progress_through(registry, project, tag, clean_image):
    """With a terminal, docker draws its own progress (cursor movement); the push is still
    confirmed from what it printed."""
    name = repository(registry, "public")
    tag(clean_image, f"{name}:1")
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "hubguard", "push", f"{name}:1"],
        cwd=project,
        stdout=terminal,
        stderr=subprocess.PIPE,
    )
    os.close(terminal)
    shown = bytearray()
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the last writer closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    _, stderr = process.communicate(timeout=PUSH_TIMEOUT)
    os.close(controller)

    assert process.returncode == 0, stderr.decode()
    assert b"\x1b[" in shown  # docker's cursor movement reached the terminal
    status, digest = manifest(registry, path_of(name), "1")
    assert status == 200
    assert f"as {digest}".encode() in stderr


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        (["push", "127.0.0.1:5000/public/Upper:1"], ["invalid image reference", "lowercase"]),
        (["push", "127.0.0.1:5000/public/app@sha256:" + "ab" * 32], ["cannot push a digest reference"]),
        (["push", "-a", "127.0.0.1:5000/public/app:1"], ["without a tag"]),
        (["push", "127.0.0.1:5000/public/never-built-here:1"], ["no image", "build or pull it first"]),
    ],
)
def test_bad_targets_are_one_line_input_errors(project, docker_client, arguments, words):
    result = run_hubguard(*arguments, cwd=project)

    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("hubguard: error: ")
    for word in words:
        assert word in lines[0]


def test_quiet_push_is_confirmed_from_the_engine(registry, project, tag, clean_image):
    """``--quiet`` hides docker's digest line; the engine's record of the scanned image
    confirms the push instead."""
    name = repository(registry, "public")
    tag(clean_image, f"{name}:1")

    result = run_hubguard("push", "--quiet", f"{name}:1", cwd=project)

    assert result.returncode == 0, result.stderr
    assert "digest:" not in result.stdout
    status, digest = manifest(registry, path_of(name), "1")
    assert status == 200
    assert PUSHED_LINE.findall(result.stderr) == [(f"{name}:1", digest)]


class HubMissingRepository(BaseHTTPRequestHandler):
    """The Docker Hub API for a repository it cannot show: 404 on every lookup."""

    def do_GET(self) -> None:
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


def test_docker_hub_repository_the_api_cannot_see_is_treated_as_public(
    project, tag, leaky_image, tmp_path, monkeypatch
):
    """A leaky image for Docker Hub is refused when the Hub API answers 404 (a first push
    would create the repository, maybe public); nothing reaches the real Docker Hub."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), HubMissingRepository)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("HUBGUARD_HUB_API_URL", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-login"))
    name = f"hubguard-test-{secrets.token_hex(4)}/app"
    tag(leaky_image, f"{name}:1")
    try:
        result = run_hubguard("push", f"{name}:1", cwd=project)
    finally:
        server.shutdown()
        server.server_close()

    assert result.returncode == 1, result.stderr
    assert f"{name} is unknown → treated as public (Docker Hub API: {name} is missing" in result.stderr
    assert "nothing was pushed" in result.stderr
