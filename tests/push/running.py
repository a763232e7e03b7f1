"""Running ``hubguard push`` the way a user does: a new process, its output captured."""

from __future__ import annotations

import os
import pty
import secrets
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

PUSH_TIMEOUT = 300
MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
    )
)


def run_hubguard(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hubguard", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=PUSH_TIMEOUT,
        env=env,
    )


def push(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_hubguard("push", *args, cwd=cwd, env=env)


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


def repository(registry: str, visibility: str) -> str:
    return f"{registry}/{visibility}/app-{secrets.token_hex(4)}"


def path_of(name: str) -> str:
    return name.split("/", 1)[1]


def on_a_terminal(command: list[str], cwd: Path, *, stream: str) -> tuple[int, bytes, bytes]:
    """Run ``command`` with its ``stream`` ("stdout" or "stderr") on a pseudo-terminal and the
    other on a pipe: (exit code, what reached the terminal, what reached the pipe)."""
    controller, terminal = pty.openpty()
    piped = {"stdout": "stderr", "stderr": "stdout"}[stream]
    process = subprocess.Popen(command, cwd=cwd, **{stream: terminal, piped: subprocess.PIPE})
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
    out, err = process.communicate(timeout=PUSH_TIMEOUT)
    os.close(controller)
    return process.returncode, bytes(shown), out if piped == "stdout" else err
