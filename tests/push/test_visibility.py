"""Visibility decisions against a real local HTTP server that answers like the Docker Hub API.

The fake Hub behaves like the real one where it matters: a private repository is visible
only to a caller holding a bearer token from ``POST /v2/auth/token``, everyone else gets 404.
Credentials come from a real ``config.json`` and a real credential-helper executable.
"""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator
from email.message import Message
from email.utils import formatdate
from pathlib import Path

import pytest

from hubguard.config import Config, VisibilityRule
from hubguard.errors import InputError
from hubguard.push.credentials import HUB_SERVER_URL, find_login
from hubguard.push.credentials import Login as HubCredentials
from hubguard.push.hub import HUB_API_URL_ENV, retry_delay
from hubguard.push.reference import parse_reference
from hubguard.push.visibility import decide_visibility
from tests.fake_hub import SECRET, USER, FakeHub, auths_login, docker_config, running_hub
from tests.fakes import expand


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    with running_hub() as state:
        yield state


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may read the real user's docker login or point at the real Hub."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-docker-config"))
    monkeypatch.delenv(HUB_API_URL_ENV, raising=False)


def install_helper(bin_dir: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real ``docker-credential-<name>`` that knows one login and logs what it was asked."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    asked = bin_dir / f"{name}.asked"
    script = bin_dir / f"docker-credential-{name}"
    script.write_text(
        "#!/bin/sh\n"
        f'[ "$1" = get ] || exit 2\n'
        "server=$(cat)\n"
        f"printf '%s\\n' \"$server\" >> '{asked}'\n"
        'case "$server" in\n'
        "  https://index.docker.io/v1/|docker.io)\n"
        f'    printf \'{{"ServerURL":"%s","Username":"{USER}","Secret":"{SECRET}"}}\' "$server";;\n'
        "  *) echo 'credentials not found in native keychain'; exit 1;;\n"
        "esac\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{Path('/usr/bin')}:{Path('/bin')}")
    return asked


def hub_credentials(config_dir: Path | None = None):
    return find_login(HUB_SERVER_URL, config_dir)


def ask(hub: FakeHub, name: str, config_dir: Path | None = None, timeout: float = 5.0):
    return decide_visibility(
        parse_reference(name),
        Config(hub_api_url=hub.url, hub_timeout=timeout),
        docker_config_dir=config_dir,
    )


def test_public_repository_anonymously(hub: FakeHub) -> None:
    hub.repositories["myname/open"] = False
    result = ask(hub, "myname/open:1")
    assert (result.public, result.label, result.source) == (True, "public (Docker Hub API)", "hub")
    assert hub.lookups == [("/v2/namespaces/myname/repositories/open", False)]
    assert hub.logins == []


def test_private_repository_with_auths_login(hub: FakeHub, tmp_path: Path) -> None:
    hub.repositories["alice/closed"] = True
    result = ask(hub, "alice/closed", auths_login(tmp_path / "docker"))
    assert (result.public, result.label, result.source) == (False, "private (Docker Hub API)", "hub")
    assert hub.logins == [("/v2/auth/token", USER)]
    assert hub.lookups == [("/v2/namespaces/alice/repositories/closed", True)]


def test_private_repository_seen_anonymously_is_treated_as_public(hub: FakeHub) -> None:
    hub.repositories["alice/closed"] = True
    result = ask(hub, "alice/closed")
    assert result.public and result.source == "unknown"
    assert result.label.startswith("unknown → treated as public (Docker Hub API: alice/closed")
    assert "missing or not visible to you" in result.label
    assert "asked anonymously: no " in result.label and "config.json" in result.label


def test_missing_repository_is_treated_as_public(hub: FakeHub, tmp_path: Path) -> None:
    result = ask(hub, "alice/new-app", auths_login(tmp_path / "docker"))
    assert result.public and result.source == "unknown"
    assert "the first push creates the repository public" in result.label
    assert result.missing
    assert "anonymously" not in result.label
    assert hub.lookups == [("/v2/namespaces/alice/repositories/new-app", True)]


def test_official_image_is_looked_up_in_library(hub: FakeHub) -> None:
    hub.repositories["library/busybox"] = False
    assert ask(hub, "busybox").label == "public (Docker Hub API)"
    assert hub.lookups[0][0] == "/v2/namespaces/library/repositories/busybox"


def test_wrong_password_falls_back_to_anonymous(hub: FakeHub, tmp_path: Path) -> None:
    hub.repositories["alice/closed"] = True
    wrong = expand("dckr_pat_{b64url:27}", seed="wrong password")
    result = ask(hub, "alice/closed", auths_login(tmp_path / "docker", secret=wrong))
    assert result.public and result.source == "unknown"
    assert "Docker Hub refused the login of 'alice'" in result.label
    assert "(HTTP 401)" in result.label
    assert wrong not in result.label and SECRET not in result.label
    assert hub.lookups == [("/v2/namespaces/alice/repositories/closed", False)]


@pytest.mark.parametrize("status", [401, 403])
def test_refused_lookup_is_unknown(hub: FakeHub, status: int) -> None:
    hub.repositories["alice/open"] = False
    hub.queued.append((status, {}))
    result = ask(hub, "alice/open")
    assert result.public and result.source == "unknown"
    assert f"Docker Hub API refused the lookup (HTTP {status})" in result.label


def test_server_error_and_missing_field_are_unknown(hub: FakeHub) -> None:
    hub.queued.append((500, {}))
    assert ask(hub, "alice/x").label == "unknown → treated as public (Docker Hub API answered HTTP 500)"
    hub.queued.append((200, {}))  # the forced body has no is_private
    assert "without is_private" in ask(hub, "alice/x").label


def test_redirect_is_not_followed(hub: FakeHub, tmp_path: Path) -> None:
    hub.repositories["alice/closed"] = True
    hub.queued.append((302, {"Location": f"{hub.url}/v2/namespaces/alice/repositories/closed"}))
    result = ask(hub, "alice/closed", auths_login(tmp_path / "docker"))
    assert result.label == "unknown → treated as public (Docker Hub API answered HTTP 302)"
    assert len(hub.lookups) == 1


def test_rate_limit_waits_and_retries_once(hub: FakeHub, tmp_path: Path) -> None:
    hub.repositories["alice/closed"] = True
    hub.queued.append((429, {"Retry-After": "1"}))
    started = time.monotonic()
    result = ask(hub, "alice/closed", auths_login(tmp_path / "docker"))
    assert time.monotonic() - started >= 1.0
    assert result.label == "private (Docker Hub API)"
    assert len(hub.lookups) == 2


def test_rate_limit_with_unix_timestamp_header(hub: FakeHub) -> None:
    hub.repositories["alice/open"] = False
    hub.queued.append((429, {"X-Retry-After": str(int(time.time()) + 1)}))
    assert ask(hub, "alice/open").label == "public (Docker Hub API)"
    assert len(hub.lookups) == 2


def test_long_rate_limit_is_not_waited_for(hub: FakeHub) -> None:
    hub.repositories["alice/open"] = False
    hub.queued.append((429, {"Retry-After": "3600"}))
    started = time.monotonic()
    result = ask(hub, "alice/open")
    assert time.monotonic() - started < 2
    assert result.label == (
        "unknown → treated as public (Docker Hub API rate limit (HTTP 429, retry after 3600s))"
    )
    assert len(hub.lookups) == 1


def test_rate_limit_twice_gives_up(hub: FakeHub) -> None:
    hub.queued += [(429, {"Retry-After": "0"}), (429, {"Retry-After": "0"})]
    result = ask(hub, "alice/open")
    assert result.public and "rate limit" in result.label
    assert len(hub.lookups) == 2


def test_slow_api_times_out_quickly(hub: FakeHub) -> None:
    hub.stall.set()
    started = time.monotonic()
    result = ask(hub, "alice/open", timeout=0.3)
    assert time.monotonic() - started < 2
    assert result.label == "unknown → treated as public (Docker Hub API did not answer within 0.3s)"


def test_unreachable_api_is_unknown() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = decide_visibility(
        parse_reference("alice/app"), Config(hub_api_url=f"http://127.0.0.1:{port}", hub_timeout=1)
    )
    assert result.public and result.source == "unknown"
    assert f"Docker Hub API unreachable at http://127.0.0.1:{port}" in result.label


def test_creds_store_helper_is_run(hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hub.repositories["alice/closed"] = True
    asked = install_helper(tmp_path / "bin", "hgtest", monkeypatch)
    config_dir = docker_config(tmp_path / "docker", {"auths": {}, "credsStore": "hgtest"})
    result = ask(hub, "alice/closed", config_dir)
    assert result.label == "private (Docker Hub API)"
    assert asked.read_text().splitlines() == ["https://index.docker.io/v1/"]
    assert hub.logins == [("/v2/auth/token", USER)]


def test_cred_helpers_entry_is_preferred(
    hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = install_helper(tmp_path / "bin", "hgtest", monkeypatch)
    wrong = base64.b64encode(b"mallory:not-used").decode()
    docker_config(
        tmp_path / "docker",
        {
            "auths": {"https://index.docker.io/v1/": {"auth": wrong}},
            "credsStore": "absent-helper",
            "credHelpers": {"https://index.docker.io/v1/": "hgtest"},
        },
    )
    credentials, note = hub_credentials(tmp_path / "docker")
    assert (credentials.username, credentials.secret, note) == (USER, SECRET, "")
    assert credentials.source == "docker-credential-hgtest"
    assert SECRET not in repr(credentials)
    assert asked.read_text().splitlines() == ["https://index.docker.io/v1/"]


def test_cred_helpers_are_looked_up_by_dockers_exact_key(
    hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docker files Docker Hub's helper under https://index.docker.io/v1/ only: a helper under
    "docker.io" is never asked, by docker or by hubguard, so the auths entry is used."""
    asked = install_helper(tmp_path / "bin", "hgtest", monkeypatch)
    other = base64.b64encode(b"mallory:from-auths").decode()
    docker_config(
        tmp_path / "docker",
        {"credHelpers": {"docker.io": "hgtest"}, "auths": {"https://index.docker.io/v1/": {"auth": other}}},
    )
    credentials, _ = hub_credentials(tmp_path / "docker")
    assert credentials is not None and credentials.username == "mallory"
    assert not asked.exists()


def test_docker_auth_config_environment_is_a_credential_source(
    hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DOCKER_AUTH_CONFIG (docker CLI >= 28.3) holds auths as JSON and comes first."""
    hub.repositories["alice/closed"] = True
    encoded = base64.b64encode(f"{USER}:{SECRET}".encode()).decode()
    monkeypatch.setenv(
        "DOCKER_AUTH_CONFIG", json.dumps({"auths": {"https://index.docker.io/v1/": {"auth": encoded}}})
    )
    result = ask(hub, "alice/closed", tmp_path / "no-config-here")
    assert result.label == "private (Docker Hub API)"
    assert hub.logins == [("/v2/auth/token", USER)]


def test_missing_helper_is_explained(hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hub.repositories["alice/closed"] = True
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    config_dir = docker_config(tmp_path / "docker", {"credsStore": "absent-helper"})
    result = ask(hub, "alice/closed", config_dir)
    assert result.public
    assert "credential helper docker-credential-absent-helper is not installed" in result.label


def test_helper_without_login_falls_back_to_auths(
    hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_helper(tmp_path / "bin", "hgtest", monkeypatch)
    encoded = base64.b64encode(f"{USER}:{SECRET}".encode()).decode()
    docker_config(
        tmp_path / "docker",
        {
            "credHelpers": {"https://index.docker.io/v1/": "absent-helper"},
            "auths": {"https://index.docker.io/v1": {"auth": encoded}},
        },
    )
    credentials, _ = hub_credentials(tmp_path / "docker")
    assert credentials is not None and credentials.source.startswith("auths in ")


@pytest.mark.parametrize(
    ("content", "note"),
    [
        ({"auths": {"https://index.docker.io/v1/": {"auth": "%%%"}}}, "unreadable auth"),
        ({"auths": {"quay.io": {"auth": "eDp5"}}}, "no login for index.docker.io in "),
        ([1, 2], "is not a JSON object"),
    ],
)
def test_unusable_docker_config_means_anonymous(content: object, note: str, tmp_path: Path) -> None:
    docker_config(tmp_path / "docker", content)  # type: ignore[arg-type]
    credentials, why = hub_credentials(tmp_path / "docker")
    assert credentials is None and note in why


def test_username_password_entry_and_docker_config_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = docker_config(
        tmp_path / "env-docker", {"auths": {"index.docker.io": {"username": USER, "password": SECRET}}}
    )
    monkeypatch.setenv("DOCKER_CONFIG", str(directory))
    credentials, _ = hub_credentials()
    assert credentials == HubCredentials(USER, SECRET, f"auths in {directory / 'config.json'}")


def test_legacy_login_route(hub: FakeHub, tmp_path: Path) -> None:
    hub.legacy_only = True
    hub.repositories["alice/closed"] = True
    assert ask(hub, "alice/closed", auths_login(tmp_path / "docker")).label == ("private (Docker Hub API)")
    assert hub.logins == [("/v2/users/login", USER)]


def test_identity_token_is_a_login_but_the_hub_api_is_asked_anonymously(hub: FakeHub, tmp_path: Path) -> None:
    hub.repositories["alice/closed"] = True
    config_dir = docker_config(tmp_path / "docker", {"auths": {HUB_SERVER_URL: {"identitytoken": "x"}}})
    credentials, _ = hub_credentials(config_dir)
    assert credentials is not None and credentials.secret == ""
    result = ask(hub, "alice/closed", config_dir)
    assert result.public and "identity token, which the Hub API does not accept" in result.label


def private_rule(origin: Path, pattern: str = "alice/*") -> VisibilityRule:
    from hubguard.config import normalise_pattern

    return VisibilityRule(pattern, normalise_pattern(pattern), "private", origin)


def test_config_private_cannot_overrule_docker_hub_saying_public(hub: FakeHub, tmp_path: Path) -> None:
    hub.repositories["alice/public-app"] = False
    origin = tmp_path / ".hubguard.toml"
    config = Config(visibility_rules=(private_rule(origin),), hub_api_url=hub.url)
    result = decide_visibility(parse_reference("alice/public-app"), config)
    assert (result.public, result.source) == (True, "hub")
    assert "config says private, Docker Hub says public" in result.label
    assert f'rule "alice/*" in {origin}' in result.label


def test_config_private_cannot_make_a_repository_the_push_creates_private(
    hub: FakeHub, tmp_path: Path
) -> None:
    config = Config(visibility_rules=(private_rule(tmp_path / "c.toml"),), hub_api_url=hub.url)
    result = decide_visibility(
        parse_reference("alice/new-app"), config, docker_config_dir=auths_login(tmp_path / "d")
    )
    assert result.public and result.missing
    assert "the first push creates the repository public" in result.label
    assert "config says private, Docker Hub cannot confirm private" in result.label


def test_config_and_hub_agreeing_on_private_is_private(hub: FakeHub, tmp_path: Path) -> None:
    hub.repositories["alice/closed"] = True
    config = Config(visibility_rules=(private_rule(tmp_path / "c.toml"),), hub_api_url=hub.url)
    result = decide_visibility(
        parse_reference("alice/closed"), config, docker_config_dir=auths_login(tmp_path / "d")
    )
    assert (result.public, result.label) == (False, "private (Docker Hub API)")


def test_config_public_wins_without_asking_the_hub(hub: FakeHub, tmp_path: Path) -> None:
    rule = VisibilityRule("alice/*", "docker.io/alice/*", "public", tmp_path / "c.toml")
    result = decide_visibility(
        parse_reference("alice/closed"), Config(visibility_rules=(rule,), hub_api_url=hub.url)
    )
    assert (result.public, result.source) == (True, "config")
    assert hub.lookups == []


def test_config_private_is_the_answer_for_other_registries(hub: FakeHub, tmp_path: Path) -> None:
    origin = tmp_path / "c.toml"
    config = Config(visibility_rules=(private_rule(origin, "registry.example.com/*"),), hub_api_url=hub.url)
    result = decide_visibility(parse_reference("registry.example.com/team/app"), config)
    assert (result.public, result.label) == (
        False,
        f'private (config: {origin}, rule "registry.example.com/*")',
    )
    assert hub.lookups == []


def test_create_private_posts_to_the_documented_endpoint(hub: FakeHub, tmp_path: Path) -> None:
    from hubguard.push.hub import hub_client

    client = hub_client(Config(hub_api_url=hub.url), auths_login(tmp_path / "d"))
    client.create_private(parse_reference("alice/new-app"))
    assert hub.created == [
        ("/v2/namespaces/alice/repositories", {"name": "new-app", "namespace": "alice", "is_private": True})
    ]
    assert client.visibility(parse_reference("alice/new-app")).label == "private (Docker Hub API)"


def test_create_private_refused_by_hub_is_one_clear_error(hub: FakeHub, tmp_path: Path) -> None:
    from hubguard.push.hub import HubRefused, hub_client

    client = hub_client(Config(hub_api_url=hub.url), auths_login(tmp_path / "d"))
    with pytest.raises(
        HubRefused, match=r"Docker Hub refused to create bob/app private \(HTTP 403: forbidden\)"
    ):
        client.create_private(parse_reference("bob/app"))
    assert "bob/app" not in hub.repositories


def test_organizations_of_the_logged_in_user(hub: FakeHub, tmp_path: Path) -> None:
    from hubguard.push.hub import hub_client

    hub.organizations = ["acme", "widgets"]
    assert hub_client(Config(hub_api_url=hub.url), auths_login(tmp_path / "d")).organizations() == [
        "acme",
        "widgets",
    ]
    assert hub_client(Config(hub_api_url=hub.url)).organizations() is None


def test_other_registry_without_rule_is_unknown(hub: FakeHub) -> None:
    result = decide_visibility(parse_reference("localhost:5000/app"), Config(hub_api_url=hub.url))
    assert result.public and result.source == "unknown"
    assert result.label == "unknown → treated as public (no [visibility] rule matches localhost:5000/app)"
    assert hub.lookups == []


def test_environment_overrides_api_url(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    hub.repositories["alice/open"] = False
    monkeypatch.setenv(HUB_API_URL_ENV, hub.url + "/")
    config = Config(hub_api_url="http://127.0.0.1:9")  # would be refused
    assert decide_visibility(parse_reference("alice/open"), config).label == "public (Docker Hub API)"
    monkeypatch.setenv(HUB_API_URL_ENV, "not a url")
    with pytest.raises(InputError, match=f"{HUB_API_URL_ENV} must be an http"):
        decide_visibility(parse_reference("alice/open"), config)


def test_retry_delay_header_forms() -> None:
    def headers(**values: str) -> Message:
        message = Message()
        for name, value in values.items():
            message[name.replace("_", "-")] = value
        return message

    assert retry_delay(headers(Retry_After="7")) == 7
    assert retry_delay(headers(X_Retry_After="3")) == 3
    assert 0 < retry_delay(headers(X_Retry_After=str(int(time.time()) + 30))) <= 30
    assert 0 < retry_delay(headers(Retry_After=formatdate(time.time() + 30, usegmt=True))) <= 30
    assert retry_delay(headers(Retry_After="soon")) is None
    assert retry_delay(headers(Retry_After="nan")) is None
    assert retry_delay(headers()) is None
