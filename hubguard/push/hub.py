"""The Docker Hub API, asked as the user: does a repository exist, is it private, create it
private, which organizations may the user push to.

Docker Hub is asked as the user (their ``docker login``), because anonymous callers see a
private repository as missing. Every answer that cannot prove a repository private is
"unknown → treated as public". Credentials and tokens never leave this module, not even in
errors.
"""

from __future__ import annotations

import json
import math
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from email.utils import parsedate_to_datetime
from http.client import HTTPException
from pathlib import Path
from typing import IO
from urllib.parse import quote

from hubguard import __version__
from hubguard.config import Config, validate_api_url
from hubguard.errors import HubguardError
from hubguard.push.credentials import HUB_SERVER_URL, Login, find_login
from hubguard.push.reference import Reference

HUB_API_URL_ENV = "HUBGUARD_HUB_API_URL"
TREATED_AS_PUBLIC = "unknown → treated as public"
FIRST_PUSH_PUBLIC = "the first push creates the repository public"
MAX_RETRY_WAIT = 5.0
MAX_RESPONSE_BYTES = 1 << 20
# X-Retry-After was documented as a unix timestamp, Retry-After as seconds; tell them apart.
EPOCH_THRESHOLD = 1_000_000_000


@dataclass(frozen=True)
class Visibility:
    """The decision and, in ``label``, where it came from (shown to the user as is).

    ``source`` is ``config``, ``hub`` or ``unknown``; only ``config`` (registries other than
    Docker Hub) and ``hub`` can say private. ``missing`` is True when the logged-in user asked
    Docker Hub and it has no such repository, so the push would create it.
    """

    public: bool
    label: str
    source: str
    missing: bool = False


class HubUnreachable(Exception):
    """The Hub API did not give a usable answer in time (network, timeout, rate limit)."""


class HubRefused(HubguardError):
    """Docker Hub refused to create the repository (exit 2): nothing was pushed."""


def hub_client(config: Config, docker_config_dir: Path | None = None) -> HubClient:
    """A Hub API client logged in as the user's ``docker login`` for Docker Hub, if any."""
    login, note = find_login(HUB_SERVER_URL, docker_config_dir)
    return HubClient(hub_api_url(config), config.hub_timeout, login=login, login_note=note)


def hub_api_url(config: Config) -> str:
    """``$HUBGUARD_HUB_API_URL`` if set (tests, mirrors), else ``[hub] api_url``."""
    override = os.environ.get(HUB_API_URL_ENV)
    if override:
        return validate_api_url(override, HUB_API_URL_ENV)
    return config.hub_api_url


class HubClient:
    """The Docker Hub API calls the guard needs, as the user, with short timeouts and one
    bounded retry after a 429. The login is exchanged for a token once, on first use."""

    def __init__(
        self,
        api_url: str,
        timeout: float,
        *,
        login: Login | None = None,
        login_note: str = "",
        max_retry_wait: float = MAX_RETRY_WAIT,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.max_retry_wait = max_retry_wait
        self.login = login
        self.login_note = login_note or "no Docker Hub login"
        self._token: str | None = None
        self._token_note: str | None = None
        # A redirect could carry the bearer token to another host: treat it as an answer.
        self._opener = urllib.request.build_opener(_NoRedirect)

    @property
    def username(self) -> str | None:
        """The logged-in Docker Hub user, when ``docker login`` recorded one."""
        if self.login is None or self.login.username == "<token>":
            return None
        return self.login.username

    def token(self) -> tuple[str | None, str]:
        """(bearer token, "") or (None, why the calls run anonymously); asked once."""
        if self._token_note is None:
            if self.login is None:
                self._token, self._token_note = None, self.login_note
            elif not self.login.secret:
                self._token, self._token_note = (
                    None,
                    (f"{self.login.source} holds an identity token, which the Hub API does not accept"),
                )
            else:
                self._token, self._token_note = self._login(self.login)
        return self._token, self._token_note

    def visibility(self, ref: Reference) -> Visibility:
        """Ask ``GET /v2/namespaces/{ns}/repositories/{repo}`` as the user (or anonymously,
        saying why) and read ``is_private``."""
        namespace, _, repository = ref.path.partition("/")
        try:
            token, auth_note = self.token()
            status, body = self._request(
                "GET",
                f"/v2/namespaces/{quote(namespace, safe='')}/repositories/{quote(repository, safe='')}",
                token=token,
            )
        except HubUnreachable as exc:
            return _unknown(str(exc))
        anonymous = "" if token else f"; asked anonymously: {auth_note}"
        if status == 200:
            is_private = body.get("is_private")
            if not isinstance(is_private, bool):
                return _unknown("Docker Hub API answered without is_private")
            word = "private" if is_private else "public"
            return Visibility(not is_private, f"{word} (Docker Hub API)", "hub")
        if status == 404:
            if token:
                return Visibility(
                    True,
                    f"public: {ref.path} does not exist on Docker Hub yet, and {FIRST_PUSH_PUBLIC} "
                    "(--create-private creates it private first)",
                    "unknown",
                    missing=True,
                )
            return _unknown(
                f"Docker Hub API: {ref.path} is missing or not visible to you; if it is missing, "
                f"{FIRST_PUSH_PUBLIC}{anonymous}"
            )
        if status in (401, 403):
            return _unknown(f"Docker Hub API refused the lookup (HTTP {status}){anonymous}")
        return _unknown(f"Docker Hub API answered HTTP {status}")

    def create_private(self, ref: Reference) -> None:
        """``POST /v2/namespaces/{namespace}/repositories`` with ``is_private: true``; raises
        HubRefused (with Hub's reason, never a credential) unless Hub answers 201."""
        namespace, _, repository = ref.path.partition("/")
        try:
            token, note = self.token()
            if token is None:
                raise HubRefused(f"cannot create {ref.path} private on Docker Hub: {note}; run docker login")
            status, body = self._request(
                "POST",
                f"/v2/namespaces/{quote(namespace, safe='')}/repositories",
                body={"name": repository, "namespace": namespace, "is_private": True},
                token=token,
            )
        except HubUnreachable as exc:
            raise HubRefused(f"cannot create {ref.path} private on Docker Hub: {exc}") from None
        if status not in (200, 201):
            reason = body.get("message") or body.get("detail") or ""
            shown = f": {str(reason)[:200]}" if reason else ""
            raise HubRefused(
                f"Docker Hub refused to create {ref.path} private (HTTP {status}{shown}); nothing was pushed"
            )

    def organizations(self) -> list[str] | None:
        """The organizations Docker Hub lists for the logged-in user (``GET /v2/user/orgs/``, the
        route docker's hub-tool uses), or None when that cannot be known."""
        try:
            token, _ = self.token()
            if token is None:
                return None
            status, body = self._request("GET", "/v2/user/orgs/?page_size=100", token=token)
        except HubUnreachable:
            return None
        results = body.get("results")
        if status != 200 or not isinstance(results, list):
            return None
        return [
            item["orgname"]
            for item in results
            if isinstance(item, dict) and isinstance(item.get("orgname"), str)
        ]

    def _login(self, credentials: Login) -> tuple[str | None, str]:
        """Exchange the login for a bearer token: ``POST /v2/auth/token``, or the deprecated
        ``POST /v2/users/login`` where the new route is missing. A refused login returns no
        token and the reason, so the lookup still runs anonymously."""
        try:
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
        except HubUnreachable as exc:
            return None, str(exc)
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
            with exc:
                error_body = _json_object(exc.read(MAX_RESPONSE_BYTES))
            if exc.code != 429:
                return exc.code, error_body
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
