"""A local HTTP server that answers like the Docker Hub API, for visibility and push tests.

It behaves like the real one where it matters: a private repository is visible only to a
caller holding a bearer token from ``POST /v2/auth/token``, everyone else gets 404; creating
a repository (``POST /v2/namespaces/{namespace}/repositories``) needs that token and the
user's own namespace; ``GET /v2/user/orgs/`` lists the user's organizations.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.fakes import expand

USER = "alice"
SECRET = expand("dckr_pat_{b64url:27}", seed="test_visibility")


class FakeHub:
    """State of the fake Docker Hub: repositories, accounts, and what it was asked."""

    def __init__(self) -> None:
        self.repositories: dict[str, bool] = {}  # "namespace/name" -> is_private
        self.accounts: dict[str, str] = {USER: SECRET}
        self.tokens: set[str] = set()
        self.logins: list[tuple[str, str]] = []  # (route, identifier)
        self.lookups: list[tuple[str, bool]] = []  # (path, authenticated)
        self.queued: list[tuple[int, dict[str, str]]] = []  # forced lookup answers, in order
        self.legacy_only = False
        self.created: list[tuple[str, dict]] = []
        self.organizations: list[str] = []
        self.stall = threading.Event()
        self.release = threading.Event()
        self.url = ""

    def issue_token(self, identifier: object, secret: object) -> str | None:
        if not isinstance(identifier, str) or self.accounts.get(identifier) != secret:
            return None
        token = uuid.uuid4().hex
        self.tokens.add(token)
        return token


def make_handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            """Keep test output quiet."""

        def answer(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            authorization = self.headers.get("Authorization", "")
            if self.path.startswith("/v2/namespaces/") and self.path.endswith("/repositories"):
                namespace = self.path.split("/")[3]
                if authorization.removeprefix("Bearer ") not in hub.tokens or namespace != USER:
                    self.answer(403, {"errinfo": None, "message": "forbidden"})
                    return
                hub.created.append((self.path, body))
                hub.repositories[f"{namespace}/{body['name']}"] = bool(body.get("is_private"))
                self.answer(
                    201, {"name": body["name"], "namespace": namespace, "is_private": body.get("is_private")}
                )
            elif self.path == "/v2/auth/token" and not hub.legacy_only:
                hub.logins.append((self.path, body.get("identifier")))
                token = hub.issue_token(body.get("identifier"), body.get("secret"))
                if token:
                    self.answer(200, {"access_token": token})
                else:
                    self.answer(401, {"errinfo": None, "message": "unauthorized"})
            elif self.path == "/v2/users/login" and hub.legacy_only:
                hub.logins.append((self.path, body.get("username")))
                token = hub.issue_token(body.get("username"), body.get("password"))
                if token:
                    self.answer(200, {"token": token})
                else:
                    self.answer(401, {"detail": "Incorrect authentication credentials"})
            else:
                self.answer(404, {"errinfo": None, "message": "not found"})

        def do_GET(self) -> None:
            if hub.stall.is_set():
                hub.release.wait(10)
            if self.path.startswith("/v2/user/orgs/"):
                if self.headers.get("Authorization", "").removeprefix("Bearer ") not in hub.tokens:
                    self.answer(401, {"message": "unauthorized"})
                else:
                    results = [{"orgname": name} for name in hub.organizations]
                    self.answer(200, {"count": len(results), "results": results})
                return
            prefix = "/v2/namespaces/"
            namespace, _, repository = self.path.removeprefix(prefix).partition("/repositories/")
            authorization = self.headers.get("Authorization", "")
            authenticated = authorization.removeprefix("Bearer ") in hub.tokens
            hub.lookups.append((self.path, authenticated))
            if hub.queued:
                status, headers = hub.queued.pop(0)
                self.answer(status, {"errinfo": None, "message": "forced"}, headers)
                return
            full_name = f"{namespace}/{repository}"
            is_private = hub.repositories.get(full_name)
            if is_private is None or (is_private and not authenticated):
                self.answer(404, {"errinfo": None, "message": "not found"})
                return
            self.answer(
                200,
                {
                    "name": repository,
                    "namespace": namespace,
                    "repository_type": "image",
                    "status": 1,
                    "is_private": is_private,
                    "star_count": 0,
                    "pull_count": 0,
                },
            )

    return Handler


@contextlib.contextmanager
def running_hub() -> Iterator[FakeHub]:
    """A fake Hub on a loopback port for the length of the block; ``url`` says where."""
    state = FakeHub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()


def docker_config(directory: Path, content: dict) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(content), encoding="utf-8")
    return directory


def auths_login(directory: Path, secret: str = SECRET) -> Path:
    encoded = base64.b64encode(f"{USER}:{secret}".encode()).decode()
    return docker_config(directory, {"auths": {"https://index.docker.io/v1/": {"auth": encoded}}})
