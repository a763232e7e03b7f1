"""Running ``hubguard push`` the way a user does: a new process, its output captured."""

from __future__ import annotations

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
