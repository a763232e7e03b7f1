"""Is the push target public? Configuration first, then the Docker Hub API, else assume so.

Every path that cannot prove a repository private ends in "public": a wrong "private"
would let secrets out, a wrong "public" only asks the user to add a config line. Docker Hub
is asked as the user (their ``docker login``), because anonymous callers see a private
repository as missing. Credentials and tokens never leave this module, not even in errors.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import Message
from email.utils import parsedate_to_datetime
from http.client import HTTPException
from pathlib import Path
from typing import IO
from urllib.parse import quote

from hubguard import __version__
from hubguard.config import Config, validate_api_url
from hubguard.reference import Reference

HUB_API_URL_ENV = "HUBGUARD_HUB_API_URL"
TREATED_AS_PUBLIC = "unknown → treated as public"
# The key `docker login` writes for Docker Hub, then the spellings people use by hand.
HUB_SERVER_URL = "https://index.docker.io/v1/"
HUB_SERVER_KEYS = (
    HUB_SERVER_URL,
    "https://index.docker.io/v1",
    "index.docker.io",
    "docker.io",
    "https://docker.io",
    "registry-1.docker.io",
    "https://registry-1.docker.io",
)
HELPER_TIMEOUT = 10.0
MAX_RETRY_WAIT = 5.0
MAX_RESPONSE_BYTES = 1 << 20
# X-Retry-After was documented as a unix timestamp, Retry-After as seconds; tell them apart.
EPOCH_THRESHOLD = 1_000_000_000


@dataclass(frozen=True)
class Visibility:
    """The decision and, in ``label``, where it came from (shown to the user as is).

    ``source`` is ``config``, ``hub`` or ``unknown``; only ``config`` and ``hub`` can say
    private.
    """

    public: bool
    label: str
    source: str


@dataclass(frozen=True)
class HubCredentials:
    """A Docker Hub login; ``secret`` (password or access token) is kept out of ``repr``."""

    username: str
    secret: str = field(repr=False)
    source: str = ""


class HubUnreachable(Exception):
    """The Hub API did not give a usable answer in time (network, timeout, rate limit)."""


def decide_visibility(ref: Reference, config: Config, *, docker_config_dir: Path | None = None) -> Visibility:
    """Config rule, else the Docker Hub API for ``docker.io`` names, else unknown → public."""
    rule = config.matching_rule(ref.name)
    if rule is not None:
        return Visibility(
            public=rule.visibility == "public",
            label=f'{rule.visibility} (config: {rule.origin}, rule "{rule.pattern}")',
            source="config",
        )
    if not ref.is_docker_hub:
        return Visibility(True, f"{TREATED_AS_PUBLIC} (no [visibility] rule matches {ref.name})", "unknown")
    client = HubClient(hub_api_url(config), config.hub_timeout)
    credentials, note = hub_credentials(docker_config_dir)
    return client.visibility(ref, credentials, note)


def hub_api_url(config: Config) -> str:
    """``$HUBGUARD_HUB_API_URL`` if set (tests, mirrors), else ``[hub] api_url``."""
    override = os.environ.get(HUB_API_URL_ENV)
    if override:
        return validate_api_url(override, HUB_API_URL_ENV)
    return config.hub_api_url


class HubClient:
    """The two Docker Hub API calls the guard needs, with short timeouts and one bounded
    retry after a 429."""

    def __init__(self, api_url: str, timeout: float, *, max_retry_wait: float = MAX_RETRY_WAIT) -> None:
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.max_retry_wait = max_retry_wait
        # A redirect could carry the bearer token to another host: treat it as an answer.
        self._opener = urllib.request.build_opener(_NoRedirect)

    def visibility(
        self, ref: Reference, credentials: HubCredentials | None, credentials_note: str = ""
    ) -> Visibility:
        """Ask ``GET /v2/namespaces/{ns}/repositories/{repo}`` as the user (or anonymously,
        with ``credentials_note`` saying why) and read ``is_private``."""
        namespace, _, repository = ref.path.partition("/")
        try:
            token, auth_note = self._login(credentials) if credentials else (None, "")
            status, body = self._request(
                "GET",
                f"/v2/namespaces/{quote(namespace, safe='')}/repositories/{quote(repository, safe='')}",
                token=token,
            )
        except HubUnreachable as exc:
            return _unknown(str(exc))
        anonymous = "" if token else f"; asked anonymously: {auth_note or credentials_note}"
        if status == 200:
            is_private = body.get("is_private")
            if not isinstance(is_private, bool):
                return _unknown("Docker Hub API answered without is_private")
            word = "private" if is_private else "public"
            return Visibility(not is_private, f"{word} (Docker Hub API)", "hub")
        if status == 404:
            return _unknown(
                f"Docker Hub API: {ref.path} is missing or not visible to you; a first push "
                f"creates it with the namespace's default visibility{anonymous}"
            )
        if status in (401, 403):
            return _unknown(f"Docker Hub API refused the lookup (HTTP {status}){anonymous}")
        return _unknown(f"Docker Hub API answered HTTP {status}")

    def _login(self, credentials: HubCredentials) -> tuple[str | None, str]:
        """Exchange the login for a bearer token: ``POST /v2/auth/token``, or the deprecated
        ``POST /v2/users/login`` where the new route is missing. A refused login returns no
        token and the reason, so the lookup still runs anonymously."""
        status, body = self._request(
            "POST",
            "/v2/auth/token",
            body={"identifier": credentials.username, "secret": credentials.secret},
        )
        token = body.get("access_token")
        if status in (404, 405):
            status, body = self._request(
                "POST",
                "/v2/users/login",
                body={"username": credentials.username, "password": credentials.secret},
            )
            token = body.get("token")
        if status == 200 and isinstance(token, str) and token:
            return token, ""
        return None, (
            f"Docker Hub refused the login of {credentials.username!r} from "
            f"{credentials.source} (HTTP {status})"
        )

    def _request(
        self,
        method: str,
        path: str,
        *,
        body: dict | None = None,
        token: str | None = None,
        retried: bool = False,
    ) -> tuple[int, dict]:
        """(status, JSON object or {}) for any HTTP answer; HubUnreachable for no answer."""
        headers = {"Accept": "application/json", "User-Agent": f"hubguard/{__version__}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(self.api_url + path, data=data, headers=headers, method=method)
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return response.status, _json_object(response.read(MAX_RESPONSE_BYTES))
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code != 429:
                return exc.code, {}
            delay = retry_delay(exc.headers)
        except (TimeoutError, urllib.error.URLError, HTTPException, OSError) as exc:
            raise HubUnreachable(self._describe(exc)) from None
        if not retried and delay is not None and delay <= self.max_retry_wait:
            time.sleep(delay)
            return self._request(method, path, body=body, token=token, retried=True)
        after = f", retry after {delay:.0f}s" if delay is not None else ""
        raise HubUnreachable(f"Docker Hub API rate limit (HTTP 429{after})")

    def _describe(self, exc: BaseException) -> str:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        if isinstance(reason, TimeoutError):
            return f"Docker Hub API did not answer within {self.timeout:g}s"
        return f"Docker Hub API unreachable at {self.api_url}: {reason}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse every redirect, so it surfaces as an HTTP 3xx answer."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> None:
        return None


def retry_delay(headers: Message) -> float | None:
    """Seconds to wait after a 429, from ``Retry-After`` (seconds or HTTP date) or
    ``X-Retry-After`` (seconds or unix timestamp); None when absent or unreadable."""
    for name in ("Retry-After", "X-Retry-After"):
        value = (headers.get(name) or "").strip()
        if not value:
            continue
        try:
            number = float(value)
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
            except (TypeError, ValueError):
                continue
        if not math.isfinite(number):
            continue
        if number > EPOCH_THRESHOLD:
            number -= time.time()
        return max(0.0, number)
    return None


def _json_object(raw: bytes) -> dict:
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _unknown(reason: str) -> Visibility:
    return Visibility(True, f"{TREATED_AS_PUBLIC} ({reason})", "unknown")


def docker_config_file(docker_config_dir: Path | None = None) -> Path:
    """``config.json`` in ``docker_config_dir``, ``$DOCKER_CONFIG`` or ``~/.docker``."""
    directory = docker_config_dir or Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker")
    return Path(directory) / "config.json"


def hub_credentials(docker_config_dir: Path | None = None) -> tuple[HubCredentials | None, str]:
    """The user's Docker Hub login the way the docker CLI finds it: ``credHelpers``, then
    ``credsStore``, then ``auths``. Returns (credentials, "") or (None, why there are none)."""
    config_file = docker_config_file(docker_config_dir)
    if not config_file.is_file():
        return None, f"no {config_file}"
    try:
        data = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None, f"{config_file} is not readable JSON"
    if not isinstance(data, dict):
        return None, f"{config_file} is not a JSON object"

    notes: list[str] = []
    helpers = data.get("credHelpers")
    if isinstance(helpers, dict):
        for key in HUB_SERVER_KEYS:
            if isinstance(helpers.get(key), str) and helpers[key]:
                credentials, note = _from_helper(helpers[key], key)
                if credentials:
                    return credentials, ""
                notes.append(note)
                break
    store = data.get("credsStore")
    if isinstance(store, str) and store:
        credentials, note = _from_helper(store, HUB_SERVER_URL)
        if credentials:
            return credentials, ""
        notes.append(note)
    auths = data.get("auths")
    if isinstance(auths, dict):
        for key in HUB_SERVER_KEYS:
            if isinstance(auths.get(key), dict):
                credentials, note = _from_auths_entry(auths[key], f"auths in {config_file}")
                if credentials:
                    return credentials, ""
                notes.append(note)
    return None, "; ".join(notes) or f"no Docker Hub login in {config_file}"


def _from_helper(name: str, server: str) -> tuple[HubCredentials | None, str]:
    """Run ``docker-credential-<name> get`` as docker does: server URL on stdin, JSON out."""
    program = f"docker-credential-{name}"
    try:
        result = subprocess.run(
            [program, "get"],
            input=server,
            capture_output=True,
            text=True,
            timeout=HELPER_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        return None, f"credential helper {program} is not installed"
    except subprocess.TimeoutExpired:
        return None, f"credential helper {program} did not answer within {HELPER_TIMEOUT:g}s"
    except OSError as exc:
        return None, f"credential helper {program} could not run: {exc.strerror}"
    if result.returncode != 0:
        return None, f"{program} has no Docker Hub login (exit {result.returncode})"
    payload = _json_object(result.stdout.encode())
    username, secret = payload.get("Username"), payload.get("Secret")
    if not isinstance(username, str) or not isinstance(secret, str) or not username or not secret:
        return None, f"{program} gave no username and secret"
    if username == "<token>":
        return None, f"{program} holds an identity token, which the Hub API does not accept"
    return HubCredentials(username, secret, program), ""


def _from_auths_entry(entry: dict, source: str) -> tuple[HubCredentials | None, str]:
    """``auth`` (base64 ``user:secret``) or ``username``/``password`` of an ``auths`` entry."""
    username, secret = entry.get("username"), entry.get("password")
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None, f"unreadable auth in {source}"
        username, _, secret = decoded.partition(":")
    if isinstance(username, str) and isinstance(secret, str) and username and secret:
        return HubCredentials(username, secret, source), ""
    if entry.get("identitytoken"):
        return None, f"{source} holds an identity token, which the Hub API does not accept"
    return None, f"no Docker Hub login in {source}"
