"""`hubguard push` against the real engine, the real docker CLI and a real registry on loopback:
a refusal leaves no manifest behind, an allowed push is the scanned image, byte for byte."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import hubguard.push.flow
from hubguard import cli
from hubguard.push.docker_cli import DockerOutput, explain_failure
from hubguard.push.reference import parse_reference
from tests.local_http import serving
from tests.push.running import manifest, on_a_terminal, path_of, repository, run_hubguard

pytestmark = pytest.mark.engine

DOCKER_CLI = "/usr/bin/docker"
FINGERPRINT_LINE = re.compile(r"^hubguard: +fingerprint:([0-9a-f]{32})  # ", re.MULTILINE)
PUSHED_LINE = re.compile(r"^hubguard: pushed (\S+) as (sha256:[0-9a-f]{64}) ", re.MULTILINE)


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
    decide = hubguard.push.flow.decide

    def decide_then_retag(*args, **kwargs):
        decision = decide(*args, **kwargs)
        tag(busybox_image, f"{name}:1")
        return decision

    monkeypatch.setattr(hubguard.push.flow, "decide", decide_then_retag)
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
    assert "see docker's message above" in last
    assert result.stderr.count("500 Internal Server Error") == 1  # docker's own line, shown once
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
    returncode, shown, stderr = on_a_terminal(
        [sys.executable, "-m", "hubguard", "push", f"{name}:1"], project, stream="stdout"
    )

    assert returncode == 0, stderr.decode()
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
        (
            ["push", "127.0.0.1:5000/public/never-built-here:1"],
            [
                "no local image tagged 127.0.0.1:5000/public/never-built-here:1",
                "docker images 127.0.0.1:5000/public/never-built-here",
                "docker tag IMAGE 127.0.0.1:5000/public/never-built-here:1",
            ],
        ),
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


def test_quiet_stdout_holds_only_what_docker_push_quiet_prints(registry, project, tag, leaky_image):
    """With -q the findings report goes to stderr; stdout is docker push -q's own line."""
    name = repository(registry, "private")
    tag(leaky_image, f"{name}:1")

    result = run_hubguard("push", "-q", f"{name}:1", cwd=project)

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{name}:1\n"
    assert "sendgrid" in result.stderr.lower()


def test_disable_content_trust_is_a_boolean_flag_before_the_name(registry, project, tag, clean_image):
    name = repository(registry, "public")
    tag(clean_image, f"{name}:1")

    result = run_hubguard("push", "--disable-content-trust", f"{name}:1", cwd=project)

    assert result.returncode == 0, result.stderr
    assert manifest(registry, path_of(name), "1")[0] == 200


def test_successful_push_prints_the_pull_line_and_warns_about_latest_only(
    registry, project, tag, clean_image
):
    name = repository(registry, "public")
    tag(clean_image, f"{name}:latest")

    result = run_hubguard("push", name, cwd=project)

    assert result.returncode == 0, result.stderr
    assert f"hubguard: anyone with access can now run: docker pull {name}:latest" in result.stderr
    assert "warning: latest is the only tag pushed" in result.stderr
    assert f"docker tag {name}:latest {name}:1.0" in result.stderr


def test_a_version_tag_gets_no_latest_warning(registry, project, tag, clean_image):
    name = repository(registry, "public")
    tag(clean_image, f"{name}:1.2")

    result = run_hubguard("push", "--dry-run", f"{name}:1.2", cwd=project)

    assert result.returncode == 0, result.stderr
    assert "latest" not in result.stderr


def test_dry_run_decides_and_pushes_nothing(registry, project, tag, clean_image):
    name = repository(registry, "public")
    tag(clean_image, f"{name}:1")

    result = run_hubguard("push", "--dry-run", f"{name}:1", cwd=project)

    assert result.returncode == 0, result.stderr
    assert "allowed: no findings" in result.stderr
    assert f"hubguard: dry run: {name}:1 would be pushed; nothing was pushed" in result.stderr
    assert manifest(registry, path_of(name), "1") == (404, "")


def decision_validator():
    import jsonschema

    schema_file = Path(__file__).resolve().parents[2] / "docs" / "push-decision.schema.json"
    schema = json.loads(schema_file.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_decision_json_of_a_refusal_and_of_a_push_follow_the_documented_schema(
    registry, project, tag, leaky_image, clean_image
):
    validator = decision_validator()
    refused_name = repository(registry, "public")
    pushed_name = repository(registry, "public")
    tag(leaky_image, f"{refused_name}:1")
    tag(clean_image, f"{pushed_name}:1")

    refused = run_hubguard("push", "--decision-json", "refused.json", f"{refused_name}:1", cwd=project)
    pushed = run_hubguard("push", "--decision-json", "pushed.json", f"{pushed_name}:1", cwd=project)

    assert (refused.returncode, pushed.returncode) == (1, 0), refused.stderr + pushed.stderr
    refusal = json.loads((project / "refused.json").read_text())
    success = json.loads((project / "pushed.json").read_text())
    validator.validate(refusal)
    validator.validate(success)
    assert refusal["version"] == 1 and refusal["result"] == "refused" and refusal["pushed"] == []
    assert refusal["visibility"] == {
        "public": True,
        "source": "config",
        "label": f'public (config: {project / ".hubguard.toml"}, rule "127.0.0.1:*/public/*")',
    }
    assert [entry["fingerprint"] for entry in refusal["blocking"]] == FINGERPRINT_LINE.findall(refused.stderr)
    assert refusal["decision"]["allowed"] is False and refusal["decision"]["exit_code"] == 1
    status, digest = manifest(registry, path_of(pushed_name), "1")
    assert status == 200
    assert success["result"] == "pushed" and success["blocking"] == []
    assert success["pushed"] == [{"reference": f"{pushed_name}:1", "digest": digest, "image_id": clean_image}]
    assert success["target"] == {"repository": pushed_name, "tags": ["1"], "image_ids": [clean_image]}


def test_refusal_says_what_to_do_next_in_order_with_the_real_name(registry, project, tag, leaky_image):
    name = repository(registry, "public")
    tag(leaky_image, f"{name}:1")

    result = run_hubguard("push", f"{name}:1", cwd=project)

    assert result.returncode == 1, result.stderr
    text = result.stderr
    steps = [
        "sendgrid-api-key (high) at /app/mail.conf:1 in layer",  # where
        "added by /bin/sh -c #(nop) COPY file:",  # the build step
        "1. revoke or rotate each secret now",
        "sendgrid-api-key: " + "A Twilio SendGrid API key",  # the rule's own description
        "2. remove it and rebuild: keep the file out of the build context (.dockerignore)",
        "RUN --mount=type=secret instead of ARG or ENV",
        f"3. or push to a private repository: make {name} private",
        f'"{name}" = "private"',
        "4. only if a finding is a false positive",
        "fingerprint:",
        f"hubguard baseline {name}:1",
    ]
    positions = [text.find(step) for step in steps]
    assert -1 not in positions, [step for step, at in zip(steps, positions, strict=True) if at < 0]
    assert positions == sorted(positions)
    assert "IMAGE" not in text


def test_unreachable_engine_is_named_with_one_line(project):
    socket_file = project / "no-daemon.sock"
    result = subprocess.run(
        [sys.executable, "-m", "hubguard", "push", "127.0.0.1:5000/public/app:1"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DOCKER_HOST": f"unix://{socket_file}"},
    )

    assert result.returncode == 2
    assert result.stderr == (
        f"hubguard: error: cannot reach the Docker engine at unix://{socket_file} (DOCKER_HOST): "
        "is the Docker daemon running?\n"
    )


def test_named_context_works_without_a_config_json(
    docker_client, registry, project, tag, clean_image, tmp_path
):
    """`docker context create` writes only contexts/; DOCKER_CONTEXT must still find it."""
    config_dir = tmp_path / "docker-config"
    created = subprocess.run(
        [
            DOCKER_CLI,
            "--config",
            str(config_dir),
            "context",
            "create",
            "hgctx",
            "--docker",
            f"host={os.environ['DOCKER_HOST']}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    assert not (config_dir / "config.json").exists()
    name = repository(registry, "public")
    tag(clean_image, f"{name}:1")
    environment = {key: value for key, value in os.environ.items() if key != "DOCKER_HOST"}
    environment.update(DOCKER_CONFIG=str(config_dir), DOCKER_CONTEXT="hgctx")

    result = run_hubguard("push", f"{name}:1", cwd=project, env=environment)

    assert result.returncode == 0, result.stderr
    assert manifest(registry, path_of(name), "1")[0] == 200


def test_missing_context_is_one_line(project, tmp_path):
    environment = {key: value for key, value in os.environ.items() if key != "DOCKER_HOST"}
    environment.update(DOCKER_CONFIG=str(tmp_path / "empty"), DOCKER_CONTEXT="nowhere")

    result = run_hubguard("push", "127.0.0.1:5000/public/app:1", cwd=project, env=environment)

    assert result.returncode == 2
    assert result.stderr.startswith(
        "hubguard: error: docker context 'nowhere' (from DOCKER_CONTEXT) does not exist"
    )
    assert len(result.stderr.splitlines()) == 1


def fake_ssh(bin_dir: Path, log: Path) -> Path:
    """An ``ssh`` that, like a real one to a docker host, runs ``docker system dial-stdio`` there:
    here, against the test engine. It logs its arguments so the test sees who used it."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "ssh"
    script.write_text(
        "#!/bin/sh\n"
        f"echo \"$*\" >> '{log}'\n"
        f"exec {DOCKER_CLI} -H '{os.environ['DOCKER_HOST']}' system dial-stdio\n"
    )
    script.chmod(0o755)
    return bin_dir


def test_ssh_engine_is_reached_through_the_ssh_binary_for_scan_and_push(
    registry, project, tag, clean_image, tmp_path
):
    log = tmp_path / "ssh.log"
    bin_dir = fake_ssh(tmp_path / "bin", log)
    name = repository(registry, "public")
    tag(clean_image, f"{name}:1")
    environment = {
        **os.environ,
        "DOCKER_HOST": "ssh://builder@docker-host.invalid",
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
    }

    result = run_hubguard("push", f"{name}:1", cwd=project, env=environment)

    assert result.returncode == 0, result.stderr
    assert manifest(registry, path_of(name), "1")[0] == 200
    calls = log.read_text().splitlines()
    assert len(calls) >= 2 and all("docker-host.invalid" in call for call in calls)


def test_ssh_engine_without_docker_pys_ssh_support_is_refused_in_one_line(project, tmp_path):
    """Without paramiko (``hubguard[ssh]``), docker-py cannot open ssh:// at all: say so."""
    blocked = (
        "import sys; sys.modules['paramiko'] = None; "
        "from hubguard.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    bin_dir = fake_ssh(tmp_path / "bin", tmp_path / "ssh.log")
    environment = {
        **os.environ,
        "DOCKER_HOST": "ssh://builder@docker-host.invalid",
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
    }

    result = subprocess.run(
        [sys.executable, "-c", blocked, "push", "127.0.0.1:5000/public/app:1"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
    )

    assert result.returncode == 2
    assert result.stderr == (
        "hubguard: error: cannot reach the Docker engine at ssh://builder@docker-host.invalid (DOCKER_HOST): "
        "ssh:// engines need docker-py's ssh support: pip install 'hubguard[ssh]'\n"
    )


def test_ssh_engine_without_an_ssh_binary_is_refused_in_one_line(project, tmp_path):
    environment = {
        **os.environ,
        "DOCKER_HOST": "ssh://builder@docker-host.invalid",
        "PATH": str(tmp_path / "empty"),
    }
    environment["DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND"] = DOCKER_CLI

    result = run_hubguard("push", "127.0.0.1:5000/public/app:1", cwd=project, env=environment)

    assert result.returncode == 2
    assert (
        "ssh:// engines are reached through the ssh client, as the docker CLI does, and no ssh is on PATH"
        in result.stderr
    )
    assert len(result.stderr.splitlines()) == 1


class DenyingRegistry(BaseHTTPRequestHandler):
    """A registry that answers /v2/ and then denies every upload (HTTP 403, error code DENIED),
    as Docker Hub does for a namespace the user may not push to."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._answer(200, b"{}") if self.path == "/v2/" else self._deny()

    def do_HEAD(self) -> None:
        self._answer(404, b"")  # no layer is there yet: docker goes on to upload it

    def do_POST(self) -> None:
        self._deny()

    def do_PUT(self) -> None:
        self._deny()

    def _deny(self) -> None:
        body = json.dumps(
            {"errors": [{"code": "DENIED", "message": "requested access to the resource is denied"}]}
        ).encode()
        self._answer(403, body)

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def serve() -> Iterator[Callable[[type[BaseHTTPRequestHandler]], str]]:
    """``serve(Handler)`` runs an HTTP server on loopback for the test; returns host:port."""
    with serving() as start:
        yield start


def test_denied_push_is_explained_once_with_cause_and_fix(serve, project, tag, clean_image):
    name = repository(serve(DenyingRegistry), "public")
    tag(clean_image, f"{name}:1")

    result = run_hubguard("push", f"{name}:1", cwd=project)

    assert result.returncode == 3, result.stderr
    # The 20.10 engine retries the upload (~50 s) and docker then prints just "denied": once.
    assert result.stderr.splitlines().count("denied") == 1
    last = result.stderr.strip().splitlines()[-1]
    assert "the registry denied the push: you may not push to" in last
    assert "docker login as a user who may push there" in last


def test_unreachable_registry_is_explained(project, tag, clean_image):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    name = repository(f"127.0.0.1:{port}", "public")
    tag(clean_image, f"{name}:1")

    result = run_hubguard("push", f"{name}:1", cwd=project)

    assert result.returncode == 3, result.stderr
    assert f"docker could not reach the registry 127.0.0.1:{port}" in result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("docker_line", "words"),
    [
        (
            "toomanyrequests: You have reached your pull rate limit.",
            "the registry's rate limit was reached; wait and push again",
        ),
        ("unauthorized: authentication required", "run docker login and push again"),
        ("manifest unknown: manifest unknown", "push one platform with --platform"),
        ("denied: requested access to the resource is denied", "you may not push to myname"),
        (
            'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: no such host',
            "docker could not reach the registry Docker Hub",
        ),
    ],
)
def test_docker_push_failure_lines_are_translated(docker_line, words):
    """docker's exact failure lines (as it prints them) → cause and fix, docker's line not repeated."""
    output = DockerOutput(1, "The push refers to repository [docker.io/myname/app]\n", docker_line + "\n")
    text = explain_failure(output, parse_reference("myname/app:1"))
    assert words in text
    assert docker_line not in text
