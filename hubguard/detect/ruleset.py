"""The rule model: token rules, credential-file rules, allow-lists and plugins, and the
:class:`RuleSet` a scan asks per path and per value. Loaded from the TOML packs by
:mod:`hubguard.detect.rules`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import AnyStr, Generic

from hubguard.detect.globs import NamePatterns, glob_match, globs_match, shell_names
from hubguard.detect.values import plausible_secret
from hubguard.model import Severity


@dataclass(frozen=True)
class Examples:
    positive: tuple[str, ...]
    negative: tuple[str, ...]


class LazyPattern(Generic[AnyStr]):
    """A rule's regex, compiled on first use: with hundreds of rules, most are never woken by
    the prefilter in a scan, and compiling them all would cost more than the scan itself. The
    same holds for allow-lists, path regexes and credential-file contents: a small scan asks few."""

    __slots__ = ("_compiled", "flags", "pattern")

    def __init__(self, pattern: AnyStr, flags: int = 0) -> None:
        self.pattern, self.flags = pattern, flags
        self._compiled: re.Pattern[AnyStr] | None = None

    @property
    def compiled(self) -> re.Pattern[AnyStr]:
        if self._compiled is None:
            self._compiled = re.compile(self.pattern, self.flags)
        return self._compiled

    def finditer(self, text: AnyStr) -> Iterator[re.Match[AnyStr]]:
        return self.compiled.finditer(text)

    def search(self, text: AnyStr) -> re.Match[AnyStr] | None:
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
    regex: re.Pattern[str] | LazyPattern[str]
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
    path_regex: re.Pattern[str] | LazyPattern[str] | None = None
    allows: tuple[Allow, ...] = ()  # this rule's own allow-list (``[[rule.allow]]``)

    @property
    def applies_everywhere(self) -> bool:
        return not (self.paths or self.allows) and self.path_regex is None

    def applies_to(self, path: str) -> bool:
        if self.applies_everywhere:
            return True
        if self.paths and not globs_match(path, self.paths):
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
    content: re.Pattern[bytes] | LazyPattern[bytes] | None = None
    dockerignore: str = ""
    description: str = ""
    examples: Examples = field(default_factory=lambda: Examples((), ()))
    pack: str = ""
    placeholders_quiet: bool = False  # no finding when every assigned value is a placeholder

    def matches_name(self, path: str) -> bool:
        """True when ``path`` (slash-separated, absolute or relative) names such a file."""
        path = path.lstrip("/")
        base = path[path.rfind("/") + 1 :]
        if self._excluded(base):
            return False
        return self._named(base) or globs_match(path, self.paths)

    def matches_base(self, name: str) -> bool:
        """True when a file's name alone (its last component) makes it such a file."""
        return self._named(name) and not self._excluded(name)

    @cached_property
    def _named(self) -> NamePatterns:
        return shell_names(self.names)

    @cached_property
    def _excluded(self) -> NamePatterns:
        return shell_names(self.exclude)

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
    secret: re.Pattern[str] | LazyPattern[str] | None = None
    paths: tuple[str, ...] = ()
    path_regex: re.Pattern[str] | LazyPattern[str] | None = None
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


NAMES_KEPT = 1 << 16  # file names whose credential-file rules RuleSet keeps (a few MB at most)


@dataclass(frozen=True)
class RuleSet:
    token_rules: tuple[TokenRule, ...]
    file_rules: tuple[FileRule, ...]
    allows: tuple[Allow, ...] = ()
    plugins: tuple[PluginRule, ...] = ()
    third_party: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    layouts: tuple[str, ...] = ()  # package-manager layouts without records: owner "package"
    # .dockerignore entries kept "just in case" (``[defensive]``): never linted as unused.
    defensive: tuple[str, ...] = ()

    def file_rules_named(self, path: str) -> list[FileRule]:
        """The credential-file rules whose names match ``path``. Per file, so unless one of the
        rules' path globs matches, the answer is the one for the file's name alone, kept by
        name (an image holds thousands of ``package.json``) behind one combined name check."""
        if globs_match(path, self._file_rule_paths):
            return [rule for rule in self.file_rules if rule.matches_name(path)]
        base = path[path.rfind("/") + 1 :]
        named = self._rules_by_name.get(base)
        if named is None:
            named = (
                tuple(rule for rule in self.file_rules if rule.matches_base(base))
                if self._name_screen(base)
                else ()
            )
            if len(self._rules_by_name) < NAMES_KEPT:
                self._rules_by_name[base] = named
        return list(named)

    @cached_property
    def _name_screen(self) -> NamePatterns:
        return shell_names(name for rule in self.file_rules for name in rule.names)

    @cached_property
    def _rules_by_name(self) -> dict[str, tuple[FileRule, ...]]:
        return {}

    def allowed(self, secret: str, path: str) -> bool:
        return any(allow.allows(secret, path) for allow in self.allows)

    def is_third_party(self, path: str) -> bool:
        """Installed packages and vendored code: their fixtures are not the user's secrets."""
        return globs_match(path, self.third_party)

    def path_allowed(self, path: str) -> bool:
        """Paths whose contents are never secrets (checksums in RECORD files, lockfiles)."""
        return globs_match(path, self._allowed_paths)

    @cached_property
    def _allowed_paths(self) -> tuple[str, ...]:
        return tuple(pattern for allow in self.allows for pattern in allow.paths)

    @cached_property
    def _file_rule_paths(self) -> tuple[str, ...]:
        return tuple(pattern for rule in self.file_rules for pattern in rule.paths)

    def by_id(self) -> dict[str, TokenRule | FileRule]:
        return {rule.id: rule for rule in (*self.token_rules, *self.file_rules)}


def shannon_entropy(value: str) -> float:
    counts = Counter(value)
    total = len(value)
    return -sum(n / total * math.log2(n / total) for n in counts.values())
