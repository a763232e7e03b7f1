"""Which engine hubguard talks to: the docker CLI's order, contexts read without config.json."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from hubguard.docker_host import DEFAULT_HOST, resolve_endpoint
from hubguard.errors import InputError


def write_context(config_dir: Path, name: str, host: str) -> None:
    """A context laid out as `docker context create` writes it."""
    meta = config_dir / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(
        json.dumps(
            {"Name": name, "Metadata": {}, "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": False}}}
        )
    )


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "docker"
    directory.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(directory))
    return directory


def test_docker_host_beats_docker_context(config_dir: Path):
    write_context(config_dir, "remote", "tcp://remote:2375")
    endpoint = resolve_endpoint({"DOCKER_HOST": "unix:///x.sock", "DOCKER_CONTEXT": "remote"})
    assert (endpoint.host, endpoint.origin) == ("unix:///x.sock", "DOCKER_HOST")


def test_docker_context_without_config_json(config_dir: Path):
    write_context(config_dir, "remote", "tcp://remote:2375")
    assert not (config_dir / "config.json").exists()
    endpoint = resolve_endpoint({"DOCKER_CONTEXT": "remote"})
    assert (endpoint.host, endpoint.origin) == ("tcp://remote:2375", 'docker context "remote"')


def test_current_context_from_config_json(config_dir: Path):
    write_context(config_dir, "remote", "tcp://remote:2375")
    (config_dir / "config.json").write_text(json.dumps({"currentContext": "remote"}))
    assert resolve_endpoint({}).host == "tcp://remote:2375"


def test_default_context_is_the_default_socket(config_dir: Path):
    assert resolve_endpoint({}).host == DEFAULT_HOST
    assert resolve_endpoint({"DOCKER_CONTEXT": "default"}).host == DEFAULT_HOST


def test_unknown_context_is_one_line(config_dir: Path):
    with pytest.raises(InputError, match=r"docker context 'nope' \(from DOCKER_CONTEXT\) does not exist"):
        resolve_endpoint({"DOCKER_CONTEXT": "nope"})
