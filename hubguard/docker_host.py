"""Which Docker engine to talk to, chosen the way the docker CLI chooses it.

``DOCKER_HOST`` (with ``DOCKER_TLS_VERIFY``/``DOCKER_CERT_PATH``), else the context named by
``DOCKER_CONTEXT``, else ``currentContext`` in config.json, else the default socket. Contexts
are read from ``$DOCKER_CONFIG/contexts`` directly: docker-py looks for them next to a
config.json and so misses them when there is none, which is a normal state for the CLI.
``ssh://`` engines go through the ``ssh`` binary (docker-py's ``use_ssh_client``), exactly as
the docker CLI reaches them, so the scan and the push see the same engine.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass

import docker
import docker.errors
import docker.tls
import requests.exceptions

from hubguard.errors import InputError
from hubguard.push.credentials import docker_config_dir, read_docker_config

DEFAULT_HOST = "unix:///var/run/docker.sock"
DEFAULT_CONTEXT = "default"


@dataclass(frozen=True)
class Endpoint:
    """An engine address, its TLS settings, and where the choice came from (for messages)."""

    host: str
    origin: str
    tls: docker.tls.TLSConfig | bool = False


def resolve_endpoint(environ: Mapping[str, str] | None = None) -> Endpoint:
    """The engine the docker CLI would use with this environment."""
    environ = os.environ if environ is None else environ
    if environ.get("DOCKER_HOST"):
        kwargs = docker.utils.kwargs_from_env(environment=dict(environ))
        return Endpoint(environ["DOCKER_HOST"], "DOCKER_HOST", kwargs.get("tls") or False)
    name = environ.get("DOCKER_CONTEXT")
    origin = "DOCKER_CONTEXT"
    if not name:
        config, _ = read_docker_config()
        name = config.get("currentContext") if isinstance(config.get("currentContext"), str) else None
        origin = "currentContext in config.json"
    if not name or name == DEFAULT_CONTEXT:
        return Endpoint(DEFAULT_HOST, "the default socket")
    return _context_endpoint(name, origin)


def _context_endpoint(name: str, origin: str) -> Endpoint:
    """Read ``contexts/meta/<sha256(name)>/meta.json`` and its TLS files, as the CLI stores them."""
    context_id = hashlib.sha256(name.encode()).hexdigest()
    contexts = docker_config_dir() / "contexts"
    meta_file = contexts / "meta" / context_id / "meta.json"
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        endpoint = meta["Endpoints"]["docker"]
        host = endpoint["Host"]
    except FileNotFoundError:
        raise InputError(
            f"docker context {name!r} (from {origin}) does not exist (no {meta_file}); see: docker context ls"
        ) from None
    except (OSError, ValueError, KeyError, TypeError):
        raise InputError(f"docker context {name!r}: {meta_file} is not a readable context") from None
    tls_dir = contexts / "tls" / context_id / "docker"
    tls: docker.tls.TLSConfig | bool = False
    if tls_dir.is_dir():
        ca, cert, key = (tls_dir / "ca.pem", tls_dir / "cert.pem", tls_dir / "key.pem")
        tls = docker.tls.TLSConfig(
            client_cert=(str(cert), str(key)) if cert.is_file() and key.is_file() else None,
            ca_cert=str(ca) if ca.is_file() else None,
            verify=not endpoint.get("SkipTLSVerify", False),
        )
    return Endpoint(host, f'docker context "{name}"', tls)


def connect_engine(endpoint: Endpoint | None = None) -> docker.DockerClient:
    """A client for the engine, proven to answer; one plain line when it does not."""
    endpoint = endpoint or resolve_endpoint()
    ssh = endpoint.host.startswith("ssh://")
    if ssh and shutil.which("ssh") is None:
        raise InputError(
            f"cannot reach the Docker engine at {endpoint.host} ({endpoint.origin}): ssh:// engines are "
            "reached through the ssh client, as the docker CLI does, and no ssh is on PATH"
        )
    if ssh and not _has_ssh_support():
        raise InputError(
            f"cannot reach the Docker engine at {endpoint.host} ({endpoint.origin}): ssh:// engines need "
            "docker-py's ssh support: pip install 'hubguard[ssh]'"
        )
    try:
        client = docker.DockerClient(base_url=endpoint.host, tls=endpoint.tls, use_ssh_client=ssh)
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError):
        raise InputError(
            f"cannot reach the Docker engine at {endpoint.host} ({endpoint.origin}): "
            "is the Docker daemon running?"
        ) from None
    return client


def _has_ssh_support() -> bool:
    """docker-py imports paramiko for every ssh:// client, even one that runs the ssh binary."""
    try:
        import paramiko  # noqa: F401
    except ImportError:
        return False
    return True
