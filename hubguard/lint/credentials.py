"""Whether a COPY source is a credential file: by name, by a directory the credential rules'
paths live in (``.aws/``), and by content when the file is in the build context."""

from __future__ import annotations

import posixpath
from fnmatch import fnmatchcase
from pathlib import Path

from hubguard.detect.content import CREDENTIAL_FILE_LIMIT
from hubguard.detect.rules import FileRule, RuleSet, glob_match

WHOLE_CONTEXT = frozenset({".", "./", "/", "*", "./*", "./."})


def credential_match(rules: RuleSet, context_dir: Path | None, source: str) -> str | None:
    """The title of the credential-file rule ``source`` names: by name, by a directory that
    rule's paths live in (``.aws/``), and by content when the file is in the context."""
    clean = posixpath.normpath(source.strip()).lstrip("/")
    inside = context_dir is not None and clean != ".." and not clean.startswith("../")
    local = context_dir / clean if inside else None  # type: ignore[operator]
    if local is not None and any(char in clean for char in "*?["):
        return None if not local.parent.is_dir() else _glob_match(rules, local.parent, clean)
    if clean in WHOLE_CONTEXT or clean == "." or (local is not None and local.is_dir()):
        # a directory's contents are the context-copy rule's (it honours .dockerignore)
        under = [rule for rule in rules.file_rules if rule_lives_under(rule, clean)]
        return under[0].title if under else None
    named = rules.file_rules_named(clean)
    if not named:
        named = [rule for rule in rules.file_rules if rule_lives_under(rule, clean)]
        if (local is not None and local.exists()) or not named:
            return None
        return named[0].title
    if local is not None and local.is_file():
        data = _head(local)
        matching = [rule for rule in named if rule.matches(clean, data)]
        return matching[0].title if matching else None
    return named[0].title


def _glob_match(rules: RuleSet, directory: Path, pattern: str) -> str | None:
    for candidate in sorted(directory.iterdir()):
        if candidate.is_file() and fnmatchcase(candidate.name, posixpath.basename(pattern)):
            relative = posixpath.join(posixpath.dirname(pattern), candidate.name)
            for rule in rules.file_rules_named(relative):
                if rule.matches(relative, _head(candidate)):
                    return rule.title
    return None


def rule_lives_under(rule: FileRule, directory: str) -> bool:
    """A directory such as ``.aws`` or ``root/.docker`` that holds files of ``rule`` by path
    (``.aws/credentials``): copying the directory copies them."""
    directory = directory.rstrip("/")
    if not directory:
        return False
    return any("/" in pattern and glob_match(directory, pattern.rsplit("/", 1)[0]) for pattern in rule.paths)


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(CREDENTIAL_FILE_LIMIT)
    except OSError:
        return b""
