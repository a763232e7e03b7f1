"""Rule packs as data: token rules (``[[rule]]``), credential files (``[[file]]``), allow-lists
(``[[allow]]``), detect-secrets plugins (``[[plugin]]``), third-party paths and package layouts
(``[third_party]``, ``[owners]``) and defensive .dockerignore entries (``[defensive]``).

A pack is a TOML file in ``rules/`` (shipped in the wheel as ``hubguard/rules``) or in a
user's ``--rules DIR``. The format is documented in README.md ("Writing rules"). Loading
validates every entry and names the file at fault; the model is :mod:`hubguard.detect.ruleset`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import tomllib
from pathlib import Path

from hubguard.detect.gitleaks import as_pack as gitleaks_pack
from hubguard.detect.gitleaks import is_gitleaks_config
from hubguard.detect.globs import glob_match, globs_match
from hubguard.detect.ruleset import (
    Allow,
    Examples,
    FileRule,
    LazyPattern,
    PluginRule,
    RuleSet,
    TokenRule,
)
from hubguard.detect.shapes import PART, shape_examples, shape_keywords, shape_regex, shape_trigger
from hubguard.detect.stores import write_entry
from hubguard.errors import InputError
from hubguard.model import Severity

# The model's names, imported from here as they always were.
__all__ = [
    "Allow",
    "Examples",
    "FileRule",
    "PluginRule",
    "RuleSet",
    "TokenRule",
    "builtin_rules_dir",
    "glob_match",
    "globs_match",
    "load_pack",
    "load_rules",
    "pack_files",
    "rules_digest",
]

# The tables a pack may hold (the top-level keys of its TOML); anything else is a mistake.
PACK_TABLES = ("rule", "file", "allow", "plugin", "third_party", "owners", "defensive")


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


def load_rules(extra_dirs: list[Path] | tuple[Path, ...] = (), store: Path | None = None) -> RuleSet:
    """Load the built-in packs, then each ``--rules DIR``; a later rule id replaces an earlier one.
    ``store``: a directory that keeps each pack's parsed data between runs (see ``parsed_pack``)."""
    files = pack_files(extra_dirs)
    token_rules: dict[str, TokenRule] = {}
    file_rules: dict[str, FileRule] = {}
    allows: dict[str, Allow] = {}
    plugins: dict[str, PluginRule] = {}
    third_party: list[str] = []
    layouts: list[str] = []
    defensive: list[str] = []
    builtin = builtin_rules_dir()
    for path in files:
        pack = load_pack(path, check_regexes=path.parent != builtin, store=store)
        token_rules.update((rule.id, rule) for rule in pack.token_rules)
        file_rules.update((rule.id, rule) for rule in pack.file_rules)
        allows.update((allow.id, allow) for allow in pack.allows)
        plugins.update((plugin.name, plugin) for plugin in pack.plugins)
        third_party.extend(pack.third_party)
        layouts.extend(pack.layouts)
        defensive.extend(pack.defensive)
    return RuleSet(
        tuple(token_rules.values()),
        tuple(file_rules.values()),
        tuple(allows.values()),
        tuple(plugins.values()),
        tuple(dict.fromkeys(third_party)),
        tuple(map(str, files)),
        tuple(dict.fromkeys(layouts)),
        tuple(dict.fromkeys(defensive)),
    )


def load_pack(path: Path, *, check_regexes: bool = True, store: Path | None = None) -> RuleSet:
    """One TOML pack; any mistake in it is an input error naming the file.

    Regexes compile on first use; ``check_regexes`` compiles them now, so a user's broken pack
    fails at load (the built-in packs are compiled by the test suite instead)."""
    try:
        data = parsed_pack(path.read_text(encoding="utf-8"), store)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"rule pack {path}: {exc}") from None
    try:
        if is_gitleaks_config(data):
            data = gitleaks_pack(data, path)
        unknown = sorted(set(data) - set(PACK_TABLES))
        if unknown:
            raise InputError(
                f"rule pack {path}: unknown table [{unknown[0]}] (known: {', '.join(PACK_TABLES)})"
            )
        tokens = [_token_rule(entry, path.name) for entry in data.get("rule", [])]
        creds = [_file_rule(entry, path.name) for entry in data.get("file", [])]
        allows = [_allow(entry) for entry in data.get("allow", [])]
        if check_regexes:
            _compile_now(tokens, creds, allows)
        plugins = [_plugin(entry) for entry in data.get("plugin", [])]
        for plugin in plugins:
            for fragment in plugin.prefilter:
                if fragment != fragment.lower():
                    raise ValueError(f"plugin {plugin.name}: prefilter {fragment!r} must be lowercase")
                re.compile(fragment.encode())
        third_party = _strings(data, "third_party", "paths")
        layouts = _strings(data, "owners", "layouts")
        defensive = _strings(data, "defensive", "patterns")
    except KeyError as exc:  # str(KeyError) is only the key: say what is wrong with it
        raise InputError(f"rule pack {path}: missing key {exc}") from None
    except (TypeError, ValueError, re.error) as exc:
        raise InputError(f"rule pack {path}: {exc}") from None
    return RuleSet(
        tuple(tokens),
        tuple(creds),
        tuple(allows),
        tuple(plugins),
        third_party,
        (str(path),),
        layouts,
        defensive,
    )


def parsed_pack(text: str, store: Path | None = None) -> dict:
    """A pack's TOML as data. With ``store``, the data is kept there as JSON named by the text's
    SHA-256, so an edited pack is parsed afresh: json reads the built-in packs back in 2 ms,
    tomllib parses them in 35 (half of loading them, at every start). A missing, unreadable or
    damaged entry is parsed again; one that cannot be written costs only the next parse."""
    if store is None:
        return tomllib.loads(text)
    entry = store / f"{hashlib.sha256(text.encode()).hexdigest()}.json"
    with contextlib.suppress(OSError, ValueError):
        kept = json.loads(entry.read_bytes())
        if isinstance(kept, dict):
            return kept
    data = tomllib.loads(text)
    with contextlib.suppress(TypeError, ValueError):  # TypeError: a TOML date, not JSON
        write_entry(entry, json.dumps(data).encode())
    return data


def _strings(data: dict, table: str, key: str) -> tuple[str, ...]:
    """``[table] key = [...]``: a list of strings, and the only key of its table."""
    section = data.get(table, {})
    if not isinstance(section, dict):
        raise TypeError(f"[{table}] must be a table")
    unknown = sorted(set(section) - {key})
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} in [{table}] (known: {key})")
    values = section.get(key, [])
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        raise TypeError(f"[{table}] {key} must be a list of strings")
    return tuple(values)


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
        secret=LazyPattern(secret, re.IGNORECASE) if secret else None,
        paths=tuple(entry.get("paths", ())),
        path_regex=LazyPattern(path_regex) if path_regex else None,
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
        trigger=entry.get("trigger", ""),
        value_checks=bool(entry.get("value_checks", False)),
        once_per_file=bool(entry.get("once_per_file", False)),
        reference=entry.get("reference", ""),
        secret_group=int(entry.get("secret_group", 0)),
        path_regex=LazyPattern(entry["path_regex"]) if entry.get("path_regex") else None,
        allows=tuple(_rule_allow(allow, rule_id) for allow in entry.get("allow", ())),
    )


def _compile_now(tokens: list[TokenRule], creds: list[FileRule], allows: list[Allow]) -> None:
    """Compile every regex of a pack, so a mistake is an input error naming the pack. A trigger
    joins one case-insensitive pass over raw bytes, so it must compile as bytes for ``re`` (RE2
    is checked when the pass is built)."""
    every_allow = [*allows, *(allow for rule in tokens for allow in rule.allows)]
    patterns: list[object] = [rule.content for rule in creds]
    patterns += [pattern for rule in tokens for pattern in (rule.regex, rule.path_regex)]
    patterns += [pattern for allow in every_allow for pattern in (allow.secret, allow.path_regex)]
    for pattern in patterns:
        if isinstance(pattern, LazyPattern):
            pattern.compiled  # noqa: B018 - compiling is the check
    for rule in tokens:
        if rule.trigger:
            re.compile(rule.trigger.encode())


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
        "trigger": entry.get("trigger") or shape_trigger(shape, near),
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
        content=LazyPattern(content.encode()) if content else None,
        dockerignore=entry.get("dockerignore", ""),
        description=entry.get("description", ""),
        examples=_examples(entry),
        pack=pack,
        placeholders_quiet=bool(entry.get("placeholders_quiet", False)),
    )
