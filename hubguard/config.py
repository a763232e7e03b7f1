"""hubguard configuration: which repositories are public, policy thresholds, the Hub API.

Sources, like ruff or pre-commit find theirs:

1. project level: ``.hubguard.toml`` in the current directory or the nearest parent; if there
   is none, the ``[tool.hubguard]`` table of the nearest ``pyproject.toml`` that has one;
2. user level: ``$XDG_CONFIG_HOME/hubguard/config.toml`` (default ``~/.config``).

Project keys override user keys. A file that cannot be read or holds a bad value is an
error naming the file: a silently ignored config could make a public push look private.

```toml
rules = [".gitleaks.toml"]        # extra rule packs / gitleaks configs, relative to this file

[visibility]                      # normalised repository glob -> "public" / "private"
"docker.io/myorg/*" = "private"
"localhost:5000/*" = "public"

[policy]
public_threshold = "low"          # refuse public pushes with findings at or above this
private_threshold = "critical"    # refuse private pushes with findings at or above this

[hub]
api_url = "https://hub.docker.com"
timeout = 5                       # seconds per request
```
"""

from __future__ import annotations

import fnmatch
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from hubguard.errors import InputError
from hubguard.model import Severity
from hubguard.push.reference import (
    DEFAULT_DOMAIN,
    LEGACY_DEFAULT_DOMAIN,
    looks_like_registry,
    split_docker_domain,
)

PROJECT_FILE = ".hubguard.toml"
PYPROJECT_FILE = "pyproject.toml"
USER_FILE = Path("hubguard") / "config.toml"
DEFAULT_HUB_API_URL = "https://hub.docker.com"
DEFAULT_HUB_TIMEOUT = 5.0
VISIBILITIES = ("public", "private")
WILDCARDS = "*?["
POLICY_KEYS = ("public_threshold", "private_threshold")
HUB_KEYS = ("api_url", "timeout")


@dataclass(frozen=True)
class VisibilityRule:
    """One ``[visibility]`` entry: a glob over normalised repository names and its answer.

    ``rank`` orders the files a rule came from (user 0, project 1) so project rules win ties.
    """

    pattern: str
    normalised: str
    visibility: str
    origin: Path
    rank: int = 0

    def matches(self, name: str) -> bool:
        return fnmatch.fnmatchcase(name, self.normalised)

    @property
    def specificity(self) -> tuple[bool, int, int]:
        """Exact names first, then the longest literal text before the first wildcard (the
        deepest namespace), then the most literal characters overall."""
        positions = [i for i, char in enumerate(self.normalised) if char in WILDCARDS]
        literal_prefix = positions[0] if positions else len(self.normalised)
        return (not positions, literal_prefix, len(self.normalised) - len(positions))


@dataclass(frozen=True)
class Config:
    """Everything configurable; the defaults are the strict choices."""

    visibility_rules: tuple[VisibilityRule, ...] = ()
    public_threshold: Severity = Severity.LOW
    private_threshold: Severity = Severity.CRITICAL
    hub_api_url: str = DEFAULT_HUB_API_URL
    hub_timeout: float = DEFAULT_HUB_TIMEOUT
    files: tuple[Path, ...] = ()

    def matching_rule(self, name: str) -> VisibilityRule | None:
        """The most specific rule matching the normalised repository ``name``.

        ``*`` matches any characters including ``/``, so ``docker.io/myorg/*`` covers nested
        repositories too. Among matching rules the most specific wins (see
        :attr:`VisibilityRule.specificity`); on a tie a project rule beats a user rule, and
        ``public`` beats ``private``, so an ambiguous configuration fails closed.
        """
        candidates = [rule for rule in self.visibility_rules if rule.matches(name)]
        if not candidates:
            return None
        return max(
            candidates,
            key=lambda rule: (rule.specificity, rule.rank, rule.visibility == "public"),
        )


def load_config(cwd: Path | None = None) -> Config:
    """Read the user file, then the project file found from ``cwd`` (default: the current
    directory), the later overriding the earlier."""
    start = (cwd or Path.cwd()).resolve()
    layers: list[tuple[Path, dict]] = []
    user_file = user_config_path()
    if user_file.is_file():
        layers.append((user_file, _read_toml(user_file)))
    project = find_project_config(start)
    if project is not None:
        layers.append(project)

    settings: dict = {}
    rules: list[VisibilityRule] = []
    for rank, (path, data) in enumerate(layers):
        rules.extend(_visibility_rules(path, data, rank))
        settings.update(_policy(path, data))
        settings.update(_hub(path, data))
    return Config(visibility_rules=tuple(rules), files=tuple(path for path, _ in layers), **settings)


def user_config_path() -> Path:
    """``$XDG_CONFIG_HOME/hubguard/config.toml``; a relative XDG_CONFIG_HOME is ignored, as
    the XDG spec requires."""
    xdg = os.environ.get("XDG_CONFIG_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".config"
    return base / USER_FILE


def configured_rule_packs(cwd: Path | None = None) -> list[Path]:
    """``rules = [...]`` of the project config: rule packs, directories or gitleaks configs,
    relative to the file that names them (loaded before any ``--rules``)."""
    project = find_project_config((cwd or Path.cwd()).resolve())
    if project is None:
        return []
    path, data = project
    packs = data.get("rules", [])
    if not isinstance(packs, list) or not all(isinstance(pack, str) for pack in packs):
        raise InputError(f"config {path}: rules must be a list of paths")
    return [path.parent / pack for pack in packs]


def find_project_config(start: Path) -> tuple[Path, dict] | None:
    """The nearest ``.hubguard.toml`` at or above ``start``, else the nearest
    ``pyproject.toml`` with a ``[tool.hubguard]`` table, as (path, settings)."""
    directories = [start, *start.parents]
    for directory in directories:
        candidate = directory / PROJECT_FILE
        if candidate.is_file():
            return candidate, _read_toml(candidate)
    for directory in directories:
        candidate = directory / PYPROJECT_FILE
        if candidate.is_file():
            section = _read_toml(candidate).get("tool", {}).get("hubguard")
            if section is not None:
                if not isinstance(section, dict):
                    raise InputError(f"config {candidate}: [tool.hubguard] must be a table")
                return candidate, section
    return None


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"config {path}: {exc}") from None


def _table(path: Path, data: dict, name: str, known: tuple[str, ...] | None = None) -> dict:
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise InputError(f"config {path}: [{name}] must be a table")
    if known is not None:
        unknown = sorted(set(table) - set(known))
        if unknown:
            raise InputError(
                f"config {path}: unknown key {unknown[0]!r} in [{name}] (known: {', '.join(known)})"
            )
    return table


def _visibility_rules(path: Path, data: dict, rank: int) -> list[VisibilityRule]:
    rules = []
    for pattern, value in _table(path, data, "visibility").items():
        if not isinstance(value, str) or value.strip().lower() not in VISIBILITIES:
            raise InputError(
                f'config {path}: [visibility] {pattern!r} must be "public" or "private", not {value!r}'
            )
        if not pattern.strip():
            raise InputError(f"config {path}: [visibility] has an empty repository pattern")
        rules.append(
            VisibilityRule(
                pattern=pattern,
                normalised=normalise_pattern(pattern.strip()),
                visibility=value.strip().lower(),
                origin=path,
                rank=rank,
            )
        )
    return rules


def normalise_pattern(pattern: str) -> str:
    """Write a pattern the way names are normalised, so ``myorg/*`` means
    ``docker.io/myorg/*`` and ``nginx`` means ``docker.io/library/nginx``.

    A pattern whose first component is a wildcard (``*``, ``*.example.com/*``) is literal.
    """
    if not any(char in pattern for char in WILDCARDS):
        domain, remainder = split_docker_domain(pattern)
        return f"{domain}/{remainder}"
    first, slash, rest = pattern.partition("/")
    if not slash or any(char in first for char in WILDCARDS):
        return pattern
    if first == LEGACY_DEFAULT_DOMAIN:
        return f"{DEFAULT_DOMAIN}/{rest}"
    if looks_like_registry(first):
        return pattern
    return f"{DEFAULT_DOMAIN}/{pattern}"


def _policy(path: Path, data: dict) -> dict:
    settings = {}
    for key, value in _table(path, data, "policy", POLICY_KEYS).items():
        if not isinstance(value, str):
            raise InputError(f"config {path}: [policy] {key} must be a severity name, not {value!r}")
        try:
            settings[key] = Severity.parse(value)
        except ValueError as exc:
            raise InputError(f"config {path}: [policy] {key}: {exc}") from None
    return settings


def _hub(path: Path, data: dict) -> dict:
    table = _table(path, data, "hub", HUB_KEYS)
    settings: dict = {}
    if "api_url" in table:
        settings["hub_api_url"] = validate_api_url(table["api_url"], f"config {path}: [hub] api_url")
    if "timeout" in table:
        timeout = table["timeout"]
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise InputError(f"config {path}: [hub] timeout must be a positive number of seconds")
        settings["hub_timeout"] = float(timeout)
    return settings


def validate_api_url(url: object, where: str) -> str:
    """An http(s) URL with a host, without a trailing slash; ``where`` prefixes the error."""
    if isinstance(url, str):
        try:
            parts = urlsplit(url)
        except ValueError:
            parts = None
        if parts is not None and parts.scheme in ("http", "https") and parts.hostname:
            return url.rstrip("/")
    raise InputError(f"{where} must be an http:// or https:// URL, not {url!r}")
