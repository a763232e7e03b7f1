"""Configuration discovery, merging, rule specificity and errors, with real files on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from hubguard.config import DEFAULT_HUB_API_URL, Config, load_config
from hubguard.errors import InputError
from hubguard.model import Severity


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test may read the real user's configuration."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    return home


def visibility_for(config: Config, name: str) -> tuple[str, Path] | None:
    """``("public" | "private", file that said so)`` for ``name`` by the rule that decides it."""
    rule = config.matching_rule(name)
    return None if rule is None else (rule.visibility, rule.origin)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory with a nested working directory, already entered."""
    work = tmp_path / "project" / "src" / "deep"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    return tmp_path / "project"


def test_defaults_without_any_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project(tmp_path, monkeypatch)
    config = load_config()
    assert config == Config()
    assert config.public_threshold is Severity.LOW
    assert config.private_threshold is Severity.CRITICAL
    assert (config.hub_api_url, config.hub_timeout) == (DEFAULT_HUB_API_URL, 5.0)
    assert visibility_for(config, "docker.io/myorg/app") is None


def test_project_file_in_a_parent_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = project(tmp_path, monkeypatch)
    config_file = write(
        root / ".hubguard.toml",
        """
        [visibility]
        "docker.io/myorg/*" = "private"
        "registry.example.com/*" = "private"
        "localhost:5000/*" = "public"

        [policy]
        public_threshold = "medium"
        private_threshold = "HIGH"

        [hub]
        api_url = "http://127.0.0.1:8080/"
        timeout = 1.5
        """,
    )
    config = load_config()
    assert config.files == (config_file,)
    assert visibility_for(config, "docker.io/myorg/app") == ("private", config_file)
    assert visibility_for(config, "docker.io/myorg/team/app") == ("private", config_file)
    assert visibility_for(config, "registry.example.com/x/y") == ("private", config_file)
    assert visibility_for(config, "localhost:5000/app") == ("public", config_file)
    assert visibility_for(config, "docker.io/otherorg/app") is None
    assert visibility_for(config, "localhost:5001/app") is None
    assert (config.public_threshold, config.private_threshold) == (Severity.MEDIUM, Severity.HIGH)
    assert (config.hub_api_url, config.hub_timeout) == ("http://127.0.0.1:8080", 1.5)


def test_pyproject_table_when_no_hubguard_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = project(tmp_path, monkeypatch)
    pyproject = write(
        root / "pyproject.toml",
        '[project]\nname = "x"\n\n[tool.hubguard.visibility]\n"docker.io/me/*" = "private"\n',
    )
    # A nearer pyproject.toml without [tool.hubguard] is not a hubguard config.
    write(root / "src" / "pyproject.toml", '[project]\nname = "inner"\n')
    config = load_config()
    assert config.files == (pyproject,)
    assert visibility_for(config, "docker.io/me/app") == ("private", pyproject)


def test_hubguard_toml_wins_over_a_nearer_pyproject(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = project(tmp_path, monkeypatch)
    dotfile = write(root / ".hubguard.toml", '[visibility]\n"docker.io/me/*" = "public"\n')
    write(root / "src" / "pyproject.toml", '[tool.hubguard.visibility]\n"docker.io/me/*" = "private"\n')
    assert visibility_for(load_config(), "docker.io/me/app") == ("public", dotfile)


def test_user_config_merges_under_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = project(tmp_path, monkeypatch)
    xdg = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    user = write(
        xdg / "hubguard" / "config.toml",
        """
        [visibility]
        "docker.io/me/*" = "private"
        "docker.io/shared/*" = "private"
        [policy]
        public_threshold = "high"
        private_threshold = "high"
        [hub]
        timeout = 2
        """,
    )
    dotfile = write(
        root / ".hubguard.toml",
        '[visibility]\n"docker.io/shared/*" = "public"\n[policy]\npublic_threshold = "low"\n',
    )
    config = load_config()
    assert config.files == (user, dotfile)
    assert visibility_for(config, "docker.io/me/app") == ("private", user)
    assert visibility_for(config, "docker.io/shared/app") == ("public", dotfile)
    assert config.public_threshold is Severity.LOW
    assert config.private_threshold is Severity.HIGH
    assert config.hub_timeout == 2.0


def test_user_config_defaults_to_dot_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_home: Path
) -> None:
    project(tmp_path, monkeypatch)
    user = write(isolated_home / ".config" / "hubguard" / "config.toml", '[visibility]\n"*" = "private"\n')
    assert visibility_for(load_config(), "quay.io/a/b") == ("private", user)
    # A relative XDG_CONFIG_HOME is ignored, as the XDG spec says.
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/dir")
    assert load_config().files == (user,)


@pytest.mark.parametrize(
    ("name", "winner"),
    [
        ("docker.io/myorg/app", "docker.io/myorg/app"),  # exact beats any glob
        ("docker.io/myorg/api", "docker.io/myorg/*"),  # deeper namespace beats shallower
        ("docker.io/myorg/team/api", "docker.io/myorg/team/*"),
        ("docker.io/other/api", "docker.io/*"),
        ("docker.io/other/api-dev", "docker.io/*/api-*"),  # longer literal prefix
        ("quay.io/x/y", "*"),
    ],
)
def test_most_specific_rule_wins(
    name: str, winner: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path, monkeypatch)
    patterns = [
        "*",
        "docker.io/*",
        "docker.io/*/api-*",
        "docker.io/myorg/*",
        "docker.io/myorg/team/*",
        "docker.io/myorg/app",
    ]
    lines = "".join(f'"{pattern}" = "private"\n' for pattern in patterns)
    write(root / ".hubguard.toml", "[visibility]\n" + lines)
    rule = load_config().matching_rule(name)
    assert rule is not None and rule.pattern == winner


def test_equally_specific_conflict_fails_closed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = project(tmp_path, monkeypatch)
    write(
        root / ".hubguard.toml",
        '[visibility]\n"docker.io/me/*a*" = "private"\n"docker.io/me/*b*" = "public"\n',
    )
    config = load_config()
    assert visibility_for(config, "docker.io/me/ab")[0] == "public"
    assert visibility_for(config, "docker.io/me/a")[0] == "private"


@pytest.mark.parametrize(
    ("pattern", "name"),
    [
        ("myorg/*", "docker.io/myorg/app"),
        ("nginx", "docker.io/library/nginx"),
        ("index.docker.io/myorg/*", "docker.io/myorg/app"),
        ("*.example.com/*", "registry.example.com/team/app"),
    ],
)
def test_patterns_are_normalised_like_names(
    pattern: str, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path, monkeypatch)
    write(root / ".hubguard.toml", f'[visibility]\n"{pattern}" = "Private"\n')
    assert visibility_for(load_config(), name) == ("private", root / ".hubguard.toml")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("[visibility\n", "Expected ']'"),
        ('[visibility]\n"docker.io/*" = "secret"\n', 'must be "public" or "private"'),
        ('[visibility]\n"docker.io/*" = true\n', 'must be "public" or "private"'),
        ('[visibility]\n" " = "public"\n', "empty repository pattern"),
        ('visibility = "public"\n', "[visibility] must be a table"),
        ('[policy]\npublic_threshold = "severe"\n', "unknown severity 'severe'"),
        ("[policy]\npublic_threshold = 3\n", "must be a severity name"),
        ('[policy]\nprivate_treshold = "low"\n', "unknown key 'private_treshold' in [policy]"),
        ('[hub]\napi_url = "hub.docker.com"\n', "must be an http:// or https:// URL"),
        ('[hub]\napi_url = "ftp://hub.docker.com"\n', "must be an http:// or https:// URL"),
        ("[hub]\ntimeout = 0\n", "timeout must be a positive number"),
        ('[hub]\ntimeout = "5"\n', "timeout must be a positive number"),
        ("[hub]\ntimeout = true\n", "timeout must be a positive number"),
    ],
)
def test_bad_config_names_the_file(
    text: str, error: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path, monkeypatch)
    config_file = write(root / ".hubguard.toml", text)
    with pytest.raises(InputError) as caught:
        load_config()
    assert str(caught.value).startswith(f"config {config_file}: ")
    assert error in str(caught.value)


def test_bad_pyproject_and_user_file_are_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_home: Path
) -> None:
    root = project(tmp_path, monkeypatch)
    pyproject = write(root / "pyproject.toml", '[tool]\nhubguard = "private"\n')
    with pytest.raises(InputError, match=r"\[tool.hubguard\] must be a table"):
        load_config()
    pyproject.unlink()
    user = write(isolated_home / ".config" / "hubguard" / "config.toml", "\xff = 1\n")
    with pytest.raises(InputError, match=f"config {user}"):
        load_config()
