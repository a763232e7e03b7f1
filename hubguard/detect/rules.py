"""Rule packs as data: token rules (``[[rule]]``) and credential files (``[[file]]``).

A pack is a TOML file in ``rules/`` (shipped in the wheel as ``hubguard/rules``) or in a
user's ``--rules DIR``. The format is documented in README.md ("Writing rules").
"""

from __future__ import annotations

import fnmatch
import hashlib
import math
import re
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from hubguard.errors import InputError
from hubguard.model import Severity


@dataclass(frozen=True)
class Examples:
    positive: tuple[str, ...]
    negative: tuple[str, ...]


@dataclass(frozen=True)
class TokenRule:
    """A secret recognised by its shape inside a line of text."""

    id: str
    title: str
    severity: Severity
    regex: re.Pattern[str]
    keywords: tuple[str, ...]
    examples: Examples
    description: str = ""
    paths: tuple[str, ...] = ()
    entropy: float | None = None
    binary: bool = False
    block_end: str = ""
    scope: str = "all"  # "files": file contents only; "config": Env, Labels and history only
    pack: str = ""

    def applies_to(self, path: str) -> bool:
        return not self.paths or any(glob_match(path, pattern) for pattern in self.paths)

    def secrets(self, line: str) -> list[str]:
        """Every secret value this rule sees in ``line`` (the capture group, else the match)."""
        found = []
        for match in self.regex.finditer(line):
            value = (
                match.group("secret")
                if "secret" in self.regex.groupindex
                else (match.group(1) if self.regex.groups else match.group(0))
            )
            if not value:
                continue
            if self.entropy is not None and shannon_entropy(value) < self.entropy:
                continue
            found.append(value)
        return found


@dataclass(frozen=True)
class FileRule:
    """A credential file recognised by its name (and, optionally, something in it)."""

    id: str
    title: str
    severity: Severity
    names: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    content: re.Pattern[bytes] | None = None
    dockerignore: str = ""
    description: str = ""
    examples: Examples = field(default_factory=lambda: Examples((), ()))
    pack: str = ""

    def matches_name(self, path: str) -> bool:
        """True when ``path`` (slash-separated, absolute or relative) names such a file."""
        path = path.lstrip("/")
        base = path.rsplit("/", 1)[-1]
        if any(fnmatch.fnmatchcase(base, pattern) for pattern in self.exclude):
            return False
        return any(fnmatch.fnmatchcase(base, pattern) for pattern in self.names) or any(
            glob_match(path, pattern) for pattern in self.paths
        )

    def matches(self, path: str, data: bytes) -> bool:
        return self.matches_name(path) and (self.content is None or bool(self.content.search(data)))


@dataclass(frozen=True)
class PluginRule:
    """A detect-secrets plugin in play (``[[plugin]]``): its severity and prefilter fragments."""

    name: str
    severity: Severity
    prefilter: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"detect-secrets.{self.name}"


@dataclass(frozen=True)
class Allow:
    """Known fakes and placeholders (``[[allow]]``): a secret value or a path never reported."""

    id: str
    description: str = ""
    secret: re.Pattern[str] | None = None
    paths: tuple[str, ...] = ()

    def allows(self, secret: str, path: str) -> bool:
        if self.secret is not None and self.secret.search(secret):
            return True
        return any(glob_match(path, pattern) for pattern in self.paths)


@dataclass(frozen=True)
class RuleSet:
    token_rules: tuple[TokenRule, ...]
    file_rules: tuple[FileRule, ...]
    allows: tuple[Allow, ...] = ()
    plugins: tuple[PluginRule, ...] = ()
    third_party: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    def file_rules_named(self, path: str) -> list[FileRule]:
        """The credential-file rules whose names match ``path``; per file, so most paths are
        turned away by one combined check of every rule's names and path globs."""
        if not self._name_screen.fullmatch(path.lstrip("/").rsplit("/", 1)[-1]) and not globs_match(
            path, tuple(pattern for rule in self.file_rules for pattern in rule.paths)
        ):
            return []
        return [rule for rule in self.file_rules if rule.matches_name(path)]

    @cached_property
    def _name_screen(self) -> re.Pattern[str]:
        names = [fnmatch.translate(name) for rule in self.file_rules for name in rule.names]
        return re.compile("|".join(names) if names else "(?!)")

    def allowed(self, secret: str, path: str) -> bool:
        return any(allow.allows(secret, path) for allow in self.allows)

    def is_third_party(self, path: str) -> bool:
        """Installed packages and vendored code: their fixtures are not the user's secrets."""
        return globs_match(path, self.third_party)

    def path_allowed(self, path: str) -> bool:
        """Paths whose contents are never secrets (checksums in RECORD files, lockfiles)."""
        return globs_match(path, tuple(pattern for allow in self.allows for pattern in allow.paths))

    def by_id(self) -> dict[str, TokenRule | FileRule]:
        return {rule.id: rule for rule in (*self.token_rules, *self.file_rules)}


_GLOB_CACHE: dict[str, re.Pattern[str]] = {}


_GLOBS_CACHE: dict[tuple[str, ...], re.Pattern[str] | None] = {}


def globs_match(path: str, patterns: tuple[str, ...]) -> bool:
    """Whether any of ``patterns`` matches: one compiled alternation, as this runs per file."""
    regex = _GLOBS_CACHE.get(patterns, False)
    if regex is False:
        alternation = "|".join(f"(?:{_glob_to_regex(p)})" for p in patterns)
        regex = _GLOBS_CACHE[patterns] = re.compile(alternation) if patterns else None
    return regex is not None and regex.fullmatch(path.lstrip("/")) is not None


def glob_match(path: str, pattern: str) -> bool:
    """Match a slash path against a glob where ``**`` spans directories and ``*`` does not.

    A pattern without a leading ``/`` may match at any depth (like ``**/pattern``).
    """
    regex = _GLOB_CACHE.get(pattern)
    if regex is None:
        regex = _GLOB_CACHE[pattern] = re.compile(_glob_to_regex(pattern))
    return regex.fullmatch(path.lstrip("/")) is not None


def _glob_to_regex(pattern: str) -> str:
    anchored = pattern.startswith("/")
    pattern = pattern.strip("/")
    out = [] if anchored else ["(?:.*/)?"]
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


def shannon_entropy(value: str) -> float:
    counts = Counter(value)
    total = len(value)
    return -sum(n / total * math.log2(n / total) for n in counts.values())


def builtin_rules_dir() -> Path:
    """``hubguard/rules`` in an installed wheel, the repository's ``rules/`` in a checkout."""
    packaged = Path(__file__).resolve().parent.parent / "rules"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent.parent / "rules"


def pack_files(extra_dirs: list[Path] | tuple[Path, ...] = ()) -> list[Path]:
    """The built-in packs, then each ``--rules DIR``'s, in load order."""
    files: list[Path] = sorted(builtin_rules_dir().glob("*.toml"))
    for directory in extra_dirs:
        if not Path(directory).is_dir():
            raise InputError(f"--rules {directory}: not a directory")
        files.extend(sorted(Path(directory).glob("*.toml")))
    return files


def rules_digest(extra_dirs: list[Path] | tuple[Path, ...] = ()) -> str:
    """Hash of every pack's bytes (part of the cache key), without parsing any of them."""
    hasher = hashlib.sha256()
    for path in pack_files(extra_dirs):
        hasher.update(path.name.encode() + b"\0" + path.read_bytes())
    return hasher.hexdigest()[:16]


def load_rules(extra_dirs: list[Path] | tuple[Path, ...] = ()) -> RuleSet:
    """Load the built-in packs, then each ``--rules DIR``; a later rule id replaces an earlier one."""
    files = pack_files(extra_dirs)
    token_rules: dict[str, TokenRule] = {}
    file_rules: dict[str, FileRule] = {}
    allows: dict[str, Allow] = {}
    plugins: dict[str, PluginRule] = {}
    third_party: list[str] = []
    for path in files:
        pack = load_pack(path)
        token_rules.update((rule.id, rule) for rule in pack.token_rules)
        file_rules.update((rule.id, rule) for rule in pack.file_rules)
        allows.update((allow.id, allow) for allow in pack.allows)
        plugins.update((plugin.name, plugin) for plugin in pack.plugins)
        third_party.extend(pack.third_party)
    return RuleSet(
        tuple(token_rules.values()),
        tuple(file_rules.values()),
        tuple(allows.values()),
        tuple(plugins.values()),
        tuple(dict.fromkeys(third_party)),
        tuple(map(str, files)),
    )


def load_pack(path: Path) -> RuleSet:
    """One TOML pack; any mistake in it is an input error naming the file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"rule pack {path}: {exc}") from None
    try:
        tokens = [_token_rule(entry, path.name) for entry in data.get("rule", [])]
        creds = [_file_rule(entry, path.name) for entry in data.get("file", [])]
        allows = [_allow(entry) for entry in data.get("allow", [])]
        plugins = [_plugin(entry) for entry in data.get("plugin", [])]
        for plugin in plugins:
            for fragment in plugin.prefilter:
                if fragment != fragment.lower():
                    raise ValueError(f"plugin {plugin.name}: prefilter {fragment!r} must be lowercase")
                re.compile(fragment.encode())
    except KeyError as exc:  # str(KeyError) is only the key: say what is wrong with it
        raise InputError(f"rule pack {path}: missing key {exc}") from None
    except (TypeError, ValueError, re.error) as exc:
        raise InputError(f"rule pack {path}: {exc}") from None
    third_party = tuple(data.get("third_party", {}).get("paths", ()))
    return RuleSet(tuple(tokens), tuple(creds), tuple(allows), tuple(plugins), third_party, (str(path),))


def _plugin(entry: dict) -> PluginRule:
    return PluginRule(
        name=entry["name"],
        severity=Severity.parse(entry["severity"]),
        prefilter=tuple(entry["prefilter"]),
    )


def _allow(entry: dict) -> Allow:
    secret = entry.get("secret")
    return Allow(
        id=entry["id"],
        description=entry.get("description", ""),
        secret=re.compile(secret, re.IGNORECASE) if secret else None,
        paths=tuple(entry.get("paths", ())),
    )


def _examples(entry: dict) -> Examples:
    examples = entry.get("examples", {})
    return Examples(tuple(examples.get("positive", ())), tuple(examples.get("negative", ())))


def _token_rule(entry: dict, pack: str) -> TokenRule:
    rule_id = entry["id"]
    keywords = tuple(k.lower() for k in entry.get("keywords", ()))
    if not keywords:
        raise ValueError(f"rule {rule_id}: needs at least one keyword for the prefilter")
    return TokenRule(
        id=rule_id,
        title=entry["title"],
        severity=Severity.parse(entry["severity"]),
        regex=re.compile(entry["regex"]),
        keywords=keywords,
        examples=_examples(entry),
        description=entry.get("description", ""),
        paths=tuple(entry.get("paths", ())),
        entropy=entry.get("entropy"),
        binary=bool(entry.get("binary", False)),
        block_end=entry.get("block_end", ""),
        scope=_scope(entry.get("scope", "all")),
        pack=pack,
    )


def _scope(value: str) -> str:
    if value not in ("all", "files", "config"):
        raise ValueError(f"scope must be all, files or config, not {value!r}")
    return value


def _file_rule(entry: dict, pack: str) -> FileRule:
    content = entry.get("content")
    return FileRule(
        id=entry["id"],
        title=entry["title"],
        severity=Severity.parse(entry["severity"]),
        names=tuple(entry.get("names", ())),
        paths=tuple(entry.get("paths", ())),
        exclude=tuple(entry.get("exclude", ())),
        content=re.compile(content.encode()) if content else None,
        dockerignore=entry.get("dockerignore", ""),
        description=entry.get("description", ""),
        examples=_examples(entry),
        pack=pack,
    )
