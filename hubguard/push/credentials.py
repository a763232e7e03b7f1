"""The user's registry login, found the way the docker CLI finds it (cli/config/configfile).

Order, as in docker ≥ 28.3: ``$DOCKER_AUTH_CONFIG`` (a config.json fragment with ``auths``),
then ``credHelpers`` looked up by docker's *exact* key for the registry, then ``credsStore``,
then ``auths`` (keys compared by host name, as docker's file store does). docker's key is
``https://index.docker.io/v1/`` for Docker Hub and the registry's host[:port] otherwise.
Secrets stay inside :class:`Login` and never reach a message.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from hubguard.push.reference import Reference

HUB_SERVER_URL = "https://index.docker.io/v1/"
AUTH_CONFIG_ENV = "DOCKER_AUTH_CONFIG"
HELPER_TIMEOUT = 10.0
IDENTITY_TOKEN_USER = "<token>"


@dataclass(frozen=True)
class Login:
    """A registry login; ``secret`` (password or access token) is kept out of ``repr``.
    ``secret`` is empty when only an identity token is held (docker can push, the Hub API
    cannot use it)."""

    username: str
    secret: str = field(repr=False)
    source: str = ""


def server_key(reference: Reference) -> str:
    """The key docker files a registry's login under."""
    return HUB_SERVER_URL if reference.is_docker_hub else reference.domain


def docker_config_dir(override: Path | None = None) -> Path:
    """``override``, ``$DOCKER_CONFIG`` or ``~/.docker``."""
    return Path(override or os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker")


def docker_config_file(override: Path | None = None) -> Path:
    return docker_config_dir(override) / "config.json"


def read_docker_config(override: Path | None = None) -> tuple[dict, str]:
    """(config.json as a dict, "") or ({}, why it could not be used); a missing file is {}."""
    path = docker_config_file(override)
    if not path.is_file():
        return {}, f"no {path}"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}, f"{path} is not readable JSON"
    if not isinstance(data, dict):
        return {}, f"{path} is not a JSON object"
    return data, ""


def find_login(key: str, config_dir: Path | None = None) -> tuple[Login | None, str]:
    """(login, "") for docker's ``key``, or (None, why there is none)."""
    notes: list[str] = []
    from_env = os.environ.get(AUTH_CONFIG_ENV)
    if from_env:
        try:
            env_data = json.loads(from_env)
        except ValueError:
            env_data = None
        if isinstance(env_data, dict):
            login, note = _from_auths(env_data.get("auths"), key, f"${AUTH_CONFIG_ENV}")
            if login:
                return login, ""
            notes.append(note)
        else:
            notes.append(f"${AUTH_CONFIG_ENV} is not a JSON object")
    data, problem = read_docker_config(config_dir)
    if problem:
        notes.append(problem)
    helpers = data.get("credHelpers")
    helper = helpers.get(key) if isinstance(helpers, dict) else None
    store = data.get("credsStore")
    if isinstance(helper, str) and helper:
        login, note = _from_helper(helper, key)
        if login:
            return login, ""
        notes.append(note)
    elif isinstance(store, str) and store:
        login, note = _from_helper(store, key)
        if login:
            return login, ""
        notes.append(note)
    if data:
        login, note = _from_auths(data.get("auths"), key, f"auths in {docker_config_file(config_dir)}")
        if login:
            return login, ""
        notes.append(note)
    return None, "; ".join(notes)


def hostname(key: str) -> str:
    """docker's ConvertToHostname: the key without scheme and path."""
    return key.removeprefix("https://").removeprefix("http://").split("/", 1)[0]


def _from_auths(auths: object, key: str, source: str) -> tuple[Login | None, str]:
    if not isinstance(auths, dict):
        return None, f"no login for {hostname(key)} in {source}"
    entry = auths.get(key)
    if not isinstance(entry, dict):
        wanted = hostname(key)
        entry = next(
            (value for name, value in auths.items() if hostname(name) == wanted and isinstance(value, dict)),
            None,
        )
    if entry is None:
        return None, f"no login for {hostname(key)} in {source}"
    username, secret = entry.get("username"), entry.get("password")
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None, f"unreadable auth in {source}"
        username, _, secret = decoded.partition(":")
    if isinstance(username, str) and isinstance(secret, str) and username and secret:
        return Login(username, secret, source), ""
    if entry.get("identitytoken"):
        name = username if isinstance(username, str) and username else IDENTITY_TOKEN_USER
        return Login(name, "", source), ""
    return None, f"no login for {hostname(key)} in {source}"


def _from_helper(name: str, key: str) -> tuple[Login | None, str]:
    """Run ``docker-credential-<name> get`` as docker does: the key on stdin, JSON out."""
    program = f"docker-credential-{name}"
    try:
        result = subprocess.run(
            [program, "get"],
            input=key,
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
        return None, f"{program} has no login for {hostname(key)} (exit {result.returncode})"
    try:
        payload = json.loads(result.stdout)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        return None, f"{program} gave no username and secret"
    username, secret = payload.get("Username"), payload.get("Secret")
    if not isinstance(username, str) or not isinstance(secret, str) or not username or not secret:
        return None, f"{program} gave no username and secret"
    if username == IDENTITY_TOKEN_USER:
        return Login(username, "", program), ""
    return Login(username, secret, program), ""
