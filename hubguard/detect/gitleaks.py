"""Gitleaks / Betterleaks TOML configs, read as hubguard rule packs.

A team that already keeps a ``.gitleaks.toml`` passes it as it is (``--rules .gitleaks.toml``
or ``rules = [...]`` in the project config). This module only translates the config's data
into the hubguard pack schema (README.md, "Writing rules"); rules.py loads the result like
any pack. hubguard's own rules stay on either way, so ``[extend] useDefault`` changes nothing:
gitleaks' defaults are covered by the built-in packs.

Mapping: ``[[rules]]`` id/description/regex/secretGroup/entropy/keywords/path become a token
rule (``path`` is a regex over the file path); ``[rules.allowlist]`` and ``[[rules.allowlists]]``
its own allow-list (regexes with their ``regexTarget``, stopwords, paths, ``condition``); the
global ``[allowlist]`` / ``[[allowlists]]`` become ``[[allow]]`` entries, matched against the
secret and path. ``[extend] path`` loads the base config first; ``disabledRules`` drops its
rules. Commit allow-lists are skipped: an image has no commits.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

GITLEAKS_KEYS = ("rules", "extend", "allowlist", "allowlists")
EXTEND_DEPTH = 4
# Go RE2 syntax Python's `re` lacks, rewritten to the same meaning.
POSIX_CLASSES = {
    "[:alnum:]": "a-zA-Z0-9",
    "[:alpha:]": "a-zA-Z",
    "[:digit:]": "0-9",
    "[:xdigit:]": "0-9A-Fa-f",
    "[:upper:]": "A-Z",
    "[:lower:]": "a-z",
    "[:space:]": r"\s",
    "[:word:]": r"\w",
}
INLINE_FLAGS = re.compile(r"\(\?([imsU]+)\)")


def is_gitleaks_config(data: dict) -> bool:
    """A gitleaks config has ``[[rules]]`` (plural) or its allow-list/extend tables; a hubguard
    pack has ``[[rule]]``, ``[[file]]``, ``[[allow]]``."""
    return any(key in data for key in GITLEAKS_KEYS) and not any(
        key in data for key in ("rule", "file", "allow")
    )


def as_pack(data: dict, path: Path, depth: int = 0) -> dict:
    """The hubguard pack (``rule`` and ``allow`` lists) equivalent to a gitleaks config."""
    extend = data.get("extend", {})
    rules: dict[str, dict] = {}
    allows: list[dict] = []
    if extend.get("path"):
        if depth >= EXTEND_DEPTH:
            raise ValueError(f"[extend] path nests deeper than {EXTEND_DEPTH} configs")
        base_path = (path.parent / extend["path"]).resolve()
        try:
            base = tomllib.loads(base_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"[extend] path {extend['path']}: {exc}") from None
        base_pack = as_pack(base, base_path, depth + 1)
        rules.update((rule["id"], rule) for rule in base_pack["rule"])
        allows.extend(base_pack["allow"])
    for rule_id in extend.get("disabledRules", ()):
        rules.pop(rule_id, None)
    for entry in data.get("rules", ()):
        rules[entry["id"]] = _rule(entry)
    for number, entry in enumerate(_allowlists(data), start=len(allows) + 1):
        allows.extend(_global_allows(entry, f"{_slug(path.stem)}-allowlist-{number}"))
    return {"rule": list(rules.values()), "allow": allows}


def python_regex(pattern: str) -> str:
    """A Go RE2 pattern as Python ``re`` reads it: POSIX classes spelled out, ``\\z`` as ``\\Z``,
    and inline flags that Python only accepts at the start moved there (a flag turned on for
    part of a pattern then applies to all of it: more matches, never fewer)."""
    for posix, spelled in POSIX_CLASSES.items():
        pattern = pattern.replace(posix, spelled)
    pattern = pattern.replace(r"\z", r"\Z")
    flags = set()
    for match in INLINE_FLAGS.finditer(pattern):
        if match.start() > 0:
            flags.update(match.group(1).replace("U", ""))
    if flags:
        leading = INLINE_FLAGS.match(pattern)
        flags.update(leading.group(1).replace("U", "") if leading else "")
        pattern = f"(?{''.join(sorted(flags))})" + INLINE_FLAGS.sub("", pattern)
    return pattern


def _rule(entry: dict) -> dict:
    rule_id = entry["id"]
    if not entry.get("regex"):
        raise ValueError(f"rule {rule_id}: rules with only a `path` are not supported; add a regex")
    rule = {
        "id": rule_id,
        "title": entry.get("description") or rule_id,
        "description": entry.get("description") or f"gitleaks rule {rule_id}",
        "severity": "high",
        "regex": python_regex(entry["regex"]),
        "keywords": [keyword.lower() for keyword in entry.get("keywords", ())] or _required_literal(entry),
        "secret_group": int(entry.get("secretGroup", 0)),
        "allow": [allow for group in _allowlists(entry) for allow in _rule_allows(group)],
    }
    if entry.get("entropy"):
        rule["entropy"] = float(entry["entropy"])
    if entry.get("path"):
        rule["path_regex"] = python_regex(entry["path"])
    return rule


def _required_literal(entry: dict) -> list[str]:
    """A keyword for a rule that names none: the longest run of plain text every match must
    contain (outside groups, classes and quantifiers, with no top-level alternation).
    hubguard wakes every rule by keyword; a rule with no such text must name its keywords."""
    pattern = INLINE_FLAGS.sub("", entry["regex"])
    runs, run, depth, i = [], "", 0, 0
    while i < len(pattern):
        char = pattern[i]
        quantified = i + 1 < len(pattern) and pattern[i + 1] in "?*{"
        if char == "\\":
            escaped = pattern[i + 1 : i + 2]
            literal = escaped if escaped and not escaped.isalnum() else ""
            quantified = i + 2 < len(pattern) and pattern[i + 2] in "?*{"
            run = run + literal if literal and depth == 0 and not quantified else _end(runs, run)
            i += 2
            continue
        if char == "[":
            end = pattern.find("]", i + 2)
            run, i = _end(runs, run), (end + 1 if end > 0 else len(pattern))
            continue
        if char == "|" and depth == 0:
            raise ValueError(f"rule {entry['id']}: give it `keywords` (hubguard prefilters on them)")
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and (char.isalnum() or char in "_-:=/@") and not quantified:
            run += char
        else:
            run = _end(runs, run)
        i += 1
    best = max([*runs, run], key=len)
    if len(best) < 3:
        raise ValueError(f"rule {entry['id']}: give it `keywords` (hubguard prefilters on them)")
    return [best.lower()]


def _end(runs: list[str], run: str) -> str:
    if run:
        runs.append(run)
    return ""


def _allowlists(table: dict) -> list[dict]:
    """The old single ``allowlist`` table and the newer ``allowlists`` array, both allowed."""
    single = table.get("allowlist")
    return [*([single] if single else []), *table.get("allowlists", ())]


def _secret_pattern(allowlist: dict) -> str | None:
    """The allow-list's ``regexes`` and ``stopwords`` as one alternation, or None."""
    parts = [_scoped(regex) for regex in allowlist.get("regexes", ())]
    parts += [re.escape(word) for word in allowlist.get("stopwords", ())]
    return "|".join(parts) or None


def _path_pattern(allowlist: dict) -> str | None:
    return "|".join(_scoped(path) for path in allowlist.get("paths", ())) or None


def _scoped(pattern: str) -> str:
    """One alternative of several: its leading inline flags (``(?i)…``) scoped to it."""
    pattern = python_regex(pattern)
    leading = INLINE_FLAGS.match(pattern)
    if leading:
        return f"(?{leading.group(1)}:{pattern[leading.end() :]})"
    return f"(?:{pattern})"


def _rule_allows(allowlist: dict) -> list[dict]:
    secret, path = _secret_pattern(allowlist), _path_pattern(allowlist)
    condition = allowlist.get("condition", "or").lower()
    target = allowlist.get("regexTarget", "secret")
    allows = []
    if secret and path and condition == "and":
        raise ValueError("a rule's allowlist with condition AND over both regexes and paths is not supported")
    if secret:
        allows.append({"secret": secret, "target": target})
    if path:
        allows.append({"path_regex": path})
    return allows


def _global_allows(allowlist: dict, allow_id: str) -> list[dict]:
    secret, path = _secret_pattern(allowlist), _path_pattern(allowlist)
    entry: dict = {"id": allow_id, "description": allowlist.get("description", "gitleaks allowlist")}
    if secret:
        entry["secret"] = secret
    if path:
        entry["path_regex"] = path
    if secret and path:
        entry["condition"] = allowlist.get("condition", "or").lower()
    return [entry] if secret or path else []


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "gitleaks"
