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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from hubguard.detect.gitleaks import as_pack as gitleaks_pack
from hubguard.detect.gitleaks import is_gitleaks_config
from hubguard.detect.shapes import PART, shape_examples, shape_keywords, shape_regex
from hubguard.detect.values import plausible_secret
from hubguard.errors import InputError
from hubguard.model import Severity


@dataclass(frozen=True)
class Examples:
    positive: tuple[str, ...]
    negative: tuple[str, ...]


class LazyPattern:
    """A rule's regex, compiled on first use: with hundreds of rules, most are never woken by
    the prefilter in a scan, and compiling them all would cost more than the scan itself."""

    __slots__ = ("_compiled", "pattern")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._compiled: re.Pattern[str] | None = None

    @property
    def compiled(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self.pattern)
        return self._compiled

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        return self.compiled.finditer(text)

    def search(self, text: str) -> re.Match[str] | None:
        return self.compiled.search(text)

    @property
    def groupindex(self) -> Mapping[str, int]:
        return self.compiled.groupindex

    @property
    def groups(self) -> int:
        return self.compiled.groups


@dataclass(frozen=True)
class TokenRule:
    """A secret recognised by its shape inside a line of text."""

    id: str
    title: str
    severity: Severity
    regex: re.Pattern[str] | LazyPattern
    keywords: tuple[str, ...]
    examples: Examples
    description: str = ""
    paths: tuple[str, ...] = ()
    entropy: float | None = None
    binary: bool = False
    block_end: str = ""
    scope: str = "all"  # "files": file contents only; "config": Env, Labels and history only
    pack: str = ""
    # A fixed-prefix format that sample data never matches by chance (ghp_, AKIA, sk_live_):
    # the only rules still applied to files a distro or package manager owns (hubguard/owners).
    anchored: bool = False
    trigger: str = ""  # RE2-and-re pattern in the one pass instead of the keywords (see engine)
    value_checks: bool = False  # words, references and placeholders are not secrets (values.py)
    once_per_file: bool = False  # one finding per file, however many values (password hashes)
    reference: str = ""  # where the vendor documents the format (SARIF helpUri)
    secret_group: int = 0  # 0: the `secret` group, else the first non-empty group, else the match
    path_regex: re.Pattern[str] | None = None
    allows: tuple[Allow, ...] = ()  # this rule's own allow-list (``[[rule.allow]]``)

    @property
    def applies_everywhere(self) -> bool:
        return not (self.paths or self.allows) and self.path_regex is None

    def applies_to(self, path: str) -> bool:
        if self.applies_everywhere:
            return True
        if self.paths and not any(glob_match(path, pattern) for pattern in self.paths):
            return False
        if self.path_regex is not None and not self.path_regex.search(path):
            return False
        return not any(allow.secret is None and allow.allows("", path) for allow in self.allows)

    def secrets(self, line: str) -> list[str]:
        """Every secret value this rule sees in ``line`` (the capture group, else the match)."""
        found = []
        for match in self.regex.finditer(line):
            value = self._value(match)
            if not value:
                continue
            if self.entropy is not None and shannon_entropy(value) < self.entropy:
                continue
            if self.value_checks and not plausible_secret(value, line):
                continue
            start = match.start() + match.group(0).find(value)
            if start > 0 and line[start - 1].isalnum() and value.lower().startswith(self.keywords):
                continue  # a token prefix inside a longer word (Soghu_…, abcdexoxb-…) starts no token
            if any(allow.allows_text(value, match.group(0), line) for allow in self.allows):
                continue
            found.append(value)
        return found

    def _value(self, match: re.Match[str]) -> str | None:
        if self.secret_group:
            return match.group(self.secret_group) if self.secret_group <= len(match.groups()) else None
        if "secret" in self.regex.groupindex:
            return match.group("secret")
        return next((group for group in match.groups() if group), None) or (
            None if self.regex.groups else match.group(0)
        )


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
    placeholders_quiet: bool = False  # no finding when every assigned value is a placeholder

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

    def matches_content(self, data: bytes, is_placeholder: Callable[[str], bool]) -> bool:
        """Whether the contents make this file a finding: its ``content`` regex, and (with
        ``placeholders_quiet``) at least one assigned value that is not a placeholder, so an
        example.env of ``${VAR}``, ``changeme`` and ``<your-token>`` stays quiet."""
        if self.content is not None and not self.content.search(data):
            return False
        if not self.placeholders_quiet:
            return True
        for raw in ASSIGNED_VALUE.findall(data):
            value = raw.decode("utf-8", "replace").split(" #", 1)[0].strip().strip("'\"")
            if value and not is_placeholder(value):
                return True
        return False


ASSIGNED_VALUE = re.compile(rb"(?m)^[ \t]*(?:export[ \t]+)?[A-Za-z_][A-Za-z0-9_.]*[ \t]*=[ \t]*([^\r\n]*)")


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
    path_regex: re.Pattern[str] | None = None
    require_all: bool = False  # `condition = "and"`: the secret and the path must both match
    target: str = "secret"  # in a rule's own allow-list: what `secret` looks at (secret, match, line)

    def allows(self, secret: str, path: str) -> bool:
        checks = []
        if self.secret is not None:
            checks.append(bool(secret) and self.secret.search(secret) is not None)
        if self.paths or self.path_regex is not None:
            checks.append(
                any(glob_match(path, pattern) for pattern in self.paths)
                or (self.path_regex is not None and self.path_regex.search(path.lstrip("/")) is not None)
            )
        return bool(checks) and (all(checks) if self.require_all else any(checks))

    def allows_text(self, secret: str, match: str, line: str) -> bool:
        """For a rule's own allow-list, which sees the match and the line as well as the secret."""
        if self.secret is None or self.require_all:
            return False
        text = {"secret": secret, "match": match, "line": line}[self.target]
        return self.secret.search(text) is not None


@dataclass(frozen=True)
class RuleSet:
    token_rules: tuple[TokenRule, ...]
    file_rules: tuple[FileRule, ...]
    allows: tuple[Allow, ...] = ()
    plugins: tuple[PluginRule, ...] = ()
    third_party: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    layouts: tuple[str, ...] = ()  # package-manager layouts without records: owner "package"

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
    """The built-in packs, then each ``--rules`` directory's packs (or the file itself)."""
    files: list[Path] = sorted(builtin_rules_dir().glob("*.toml"))
    for source in map(Path, extra_dirs):
        if source.is_file():
            files.append(source)  # one pack, e.g. a .gitleaks.toml
        elif source.is_dir():
            files.extend(sorted(source.glob("*.toml")))
        else:
            raise InputError(f"--rules {source}: not a directory or file")
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
    layouts: list[str] = []
    builtin = builtin_rules_dir()
    for path in files:
        pack = load_pack(path, check_regexes=path.parent != builtin)
        token_rules.update((rule.id, rule) for rule in pack.token_rules)
        file_rules.update((rule.id, rule) for rule in pack.file_rules)
        allows.update((allow.id, allow) for allow in pack.allows)
        plugins.update((plugin.name, plugin) for plugin in pack.plugins)
        third_party.extend(pack.third_party)
        layouts.extend(pack.layouts)
    return RuleSet(
        tuple(token_rules.values()),
        tuple(file_rules.values()),
        tuple(allows.values()),
        tuple(plugins.values()),
        tuple(dict.fromkeys(third_party)),
        tuple(map(str, files)),
        tuple(dict.fromkeys(layouts)),
    )


def load_pack(path: Path, *, check_regexes: bool = True) -> RuleSet:
    """One TOML pack; any mistake in it is an input error naming the file.

    Token regexes compile on first use; ``check_regexes`` compiles them now, so a user's broken
    pack fails at load (the built-in packs are compiled by the test suite instead)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"rule pack {path}: {exc}") from None
    try:
        if is_gitleaks_config(data):
            data = gitleaks_pack(data, path)
        tokens = [_token_rule(entry, path.name) for entry in data.get("rule", [])]
        for rule in tokens if check_regexes else ():
            rule.regex.compiled  # noqa: B018 - compiling is the check
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
    layouts = tuple(data.get("owners", {}).get("layouts", ()))
    return RuleSet(
        tuple(tokens), tuple(creds), tuple(allows), tuple(plugins), third_party, (str(path),), layouts
    )


def _plugin(entry: dict) -> PluginRule:
    return PluginRule(
        name=entry["name"],
        severity=Severity.parse(entry["severity"]),
        prefilter=tuple(entry["prefilter"]),
    )


def _allow(entry: dict) -> Allow:
    secret, path_regex = entry.get("secret"), entry.get("path_regex")
    condition = entry.get("condition", "or").lower()
    target = entry.get("target", "secret")
    if condition not in ("or", "and") or target not in ("secret", "match", "line"):
        raise ValueError(f"allow {entry.get('id')}: condition must be or/and, target secret/match/line")
    return Allow(
        id=entry["id"],
        description=entry.get("description", ""),
        secret=re.compile(secret, re.IGNORECASE) if secret else None,
        paths=tuple(entry.get("paths", ())),
        path_regex=re.compile(path_regex) if path_regex else None,
        require_all=condition == "and",
        target=target,
    )


def _examples(entry: dict) -> Examples:
    examples = entry.get("examples", {})
    return Examples(tuple(examples.get("positive", ())), tuple(examples.get("negative", ())))


def _token_rule(entry: dict, pack: str) -> TokenRule:
    rule_id = entry["id"]
    if "shape" in entry:
        entry = _from_shape(entry)
    keywords = tuple(k.lower() for k in entry.get("keywords", ()))
    if not keywords:
        raise ValueError(f"rule {rule_id}: needs at least one keyword for the prefilter")
    return TokenRule(
        id=rule_id,
        title=entry["title"],
        severity=Severity.parse(entry["severity"]),
        regex=LazyPattern(entry["regex"]),
        keywords=keywords,
        examples=_examples(entry),
        description=entry.get("description", ""),
        paths=tuple(entry.get("paths", ())),
        entropy=entry.get("entropy"),
        binary=bool(entry.get("binary", False)),
        block_end=entry.get("block_end", ""),
        scope=_scope(entry.get("scope", "all")),
        pack=pack,
        anchored=bool(entry.get("anchored", False)),
        trigger=_trigger(entry.get("trigger", "")),
        value_checks=bool(entry.get("value_checks", False)),
        once_per_file=bool(entry.get("once_per_file", False)),
        reference=entry.get("reference", ""),
        secret_group=int(entry.get("secret_group", 0)),
        path_regex=re.compile(entry["path_regex"]) if entry.get("path_regex") else None,
        allows=tuple(_rule_allow(allow, rule_id) for allow in entry.get("allow", ())),
    )


def _trigger(pattern: str) -> str:
    """A trigger joins one case-insensitive pass over raw bytes: it must compile for ``re``
    (RE2 is checked when the pass is built) and must not reach across a line end."""
    if pattern:
        re.compile(pattern.encode())
    return pattern


def _rule_allow(entry: dict, rule_id: str) -> Allow:
    allow = _allow({"id": rule_id, **entry})
    if allow.require_all and allow.secret is not None and (allow.paths or allow.path_regex):
        raise ValueError(f"rule {rule_id}: an allow-list needing both a secret and a path match")
    return allow


def _from_shape(entry: dict) -> dict:
    """A ``shape`` rule as a full rule: regex, keywords and examples derived (see shapes.py);
    examples written in the pack are kept alongside the derived ones."""
    shape, near = entry["shape"], tuple(entry.get("near", ()))
    if not PART.search(shape):
        raise ValueError(f"rule {entry['id']}: shape {shape!r} has no {{charset:N}} part")
    positive, negative = shape_examples(entry["id"], shape, near)
    examples = entry.get("examples", {})
    reference = entry.get("reference", "")
    return {
        **entry,
        "severity": entry.get("severity", "high"),
        "regex": shape_regex(shape, near),
        "keywords": shape_keywords(shape, near),
        "description": entry.get("description")
        or f"{entry['title']}: {shape}{' (format: ' + reference + ')' if reference else ''}. "
        "Revoke it with the vendor and pass its successor at run time, not in the image.",
        "examples": {
            "positive": [*examples.get("positive", ()), *positive],
            "negative": [*examples.get("negative", ()), *negative],
        },
    }


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
        placeholders_quiet=bool(entry.get("placeholders_quiet", False)),
    )
