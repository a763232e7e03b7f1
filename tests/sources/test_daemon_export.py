"""The engine's export may be slow to start: docker 20.10 assembles the whole ``docker save``
before its first byte. docker-py's read timeout (60 s) must not turn a slow export into a
failed scan, while a stalled one still ends as an incomplete scan, never a hang.

The engine here is a loopback HTTP server answering the few Engine API calls an engine scan
makes, so that the delay is exact; docker-py's default timeout is shortened to 1 s so that the
test takes seconds, not minutes."""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import docker
import pytest

from examples.save_archive import layer_tar
from hubguard.errors import ScanIncomplete
from hubguard.scan import Scanner, ScanOptions
from hubguard.sources import daemon
from tests.fakes import expand
from tests.images import write_docker_archive
from tests.local_http import serving

EXPORT_DELAY = 2.5  # seconds before the first byte of the export, beyond the 1 s read timeout


@pytest.fixture
def slow_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """DOCKER_HOST of an engine holding one image with a token, whose export starts late."""
    token = expand("ghp_{alnum:36}")
    archive = write_docker_archive(
        tmp_path / "image.tar", [layer_tar({"app/.env": f"TOKEN={token}\n".encode()})]
    )
    image_id = (
        "sha256:" + json.loads(_member(archive, "manifest.json"))[0]["Config"].split("/")[-1].split(".")[0]
    )
    body = archive.read_bytes()

    class Engine(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep the test output clean
            pass

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            if path.endswith("/_ping"):
                self._send(b"OK", "text/plain")
            elif path.endswith("/version"):
                self._send(json.dumps({"ApiVersion": "1.41", "Version": "20.10"}).encode())
            elif path.endswith("/json"):
                inspect = {"Id": image_id, "Size": len(body), "RootFS": {"Layers": []}, "RepoTags": []}
                self._send(json.dumps(inspect).encode())
            elif path.endswith("/get"):
                time.sleep(EXPORT_DELAY)
                self._send(body, "application/x-tar")
            else:
                self.send_error(404)

        def _send(self, data: bytes, kind: str = "application/json") -> None:
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    original = docker.api.client.APIClient.__init__

    def short_timeout(self, *args, **kwargs) -> None:
        kwargs["timeout"] = 1
        original(self, *args, **kwargs)

    monkeypatch.setattr(docker.api.client.APIClient, "__init__", short_timeout)
    with serving() as start:
        monkeypatch.setenv("DOCKER_HOST", "tcp://" + start(Engine))
        yield "made:1"


def _member(archive: Path, name: str) -> bytes:
    import tarfile

    with tarfile.open(archive) as tar:
        return tar.extractfile(name).read()


def test_a_slow_export_is_waited_for_and_scanned(slow_engine: str):
    report = Scanner(ScanOptions(use_cache=False, jobs=1)).scan([slow_engine])
    assert report.complete, report.problems
    assert [f.rule_id for f in report.findings if f.path == "/app/.env"] != []


def test_an_export_slower_than_the_export_timeout_is_an_incomplete_scan(
    slow_engine: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(daemon, "EXPORT_READ_TIMEOUT", 1)
    with pytest.raises(ScanIncomplete, match=r"exporting made:1 from the engine failed: .*timed out"):
        Scanner(ScanOptions(use_cache=False, jobs=1)).scan([slow_engine])
