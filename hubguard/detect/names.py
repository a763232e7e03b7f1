"""Secrets in names, and the one rule for showing text read from scanned input.

A file name, an archive member name or a ``.dockerignore`` line is input like any file's
contents: it can hold a token. Names are matched against the anchored token rules (formats
with a fixed shape such as ``ghp_…`` or ``AKIA…``; not ``generic.toml``/``image.toml``), a
match is a finding, and the name is redacted everywhere it is shown or cached.

Undecodable bytes: inside hubguard, names and text are ``str`` with undecodable bytes kept as
``surrogateescape`` surrogates (lossless, so paths still open and match). Everything shown —
every report format, stderr, the cache — writes each such byte as ``\\xNN``
(:func:`printable`), so output is always valid UTF-8.
"""

from __future__ import annotations

import dataclasses
import re

from hubguard.detect.engine import Hit
from hubguard.detect.rules import RuleSet, TokenRule
from hubguard.detect.triggers import re2_set
from hubguard.model import LayerRef, ScanReport, hash_secret, redact

# Keyword-assignment heuristics and config-only rules: not anchored formats, not for names.
GENERIC_PACKS = ("generic.toml", "image.toml")


def printable(text: str) -> str:
    """``text`` with every undecodable byte (a surrogate) written as ``\\xNN``."""
    if text.isascii():  # most names: nothing to write out
        return text
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate that stands for no byte
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


class NameGuard:
    """The anchored token rules, with one combined keyword screen so most names cost one search."""

    def __init__(self, rules: RuleSet) -> None:
        self.rules: tuple[TokenRule, ...] = tuple(
            rule
            for rule in sorted(rules.token_rules, key=lambda rule: -rule.severity)
            if rule.pack not in GENERIC_PACKS and rule.scope != "config" and rule.keywords
        )
        self.allowed = rules.allowed
        keywords = sorted({keyword for rule in self.rules for keyword in rule.keywords})
        # A name that holds a keyword: an RE2 set says which ones in one pass, and only their
        # rules are tried (``re`` and a loop over every rule cost half a millisecond a path).
        self.keyword_set = re2_set([re.escape(keyword) for keyword in keywords]) if keywords else None
        self.screen = KeywordScreen(keywords, after=0 if self.keyword_set is None else SCREEN_AFTER)
        positions: dict[str, list[int]] = {keyword: [] for keyword in keywords}
        for position, rule in enumerate(self.rules):
            for keyword in set(rule.keywords):
                positions[keyword].append(position)
        self.rules_by_keyword = [positions[keyword] for keyword in keywords]

    def _woken(self, lowered: str) -> list[TokenRule]:
        """The rules whose keywords occur in ``lowered``, most severe first."""
        if not self.screen(lowered):
            return []
        if self.keyword_set is not None:
            matched = self.keyword_set.Match(lowered.encode("utf-8", "replace")) or ()
            woken = {position for index in matched for position in self.rules_by_keyword[index]}
            return [self.rules[position] for position in sorted(woken)]
        return [rule for rule in self.rules if any(keyword in lowered for keyword in rule.keywords)]

    def secrets(self, text: str) -> list[tuple[TokenRule, str]]:
        """(rule, secret) for each token in ``text``."""
        found: list[tuple[TokenRule, str]] = []
        for rule in self._woken(text.lower()):
            for secret in rule.secrets(text):
                if not any(secret in seen or seen in secret for _, seen in found) and not self.allowed(
                    secret, ""
                ):
                    found.append((rule, secret))
        return found

    def shown(self, text: str, hits: dict[tuple[str, str], Hit] | None = None) -> str:
        """``text`` as it may be shown and stored: printable, every token in it redacted. With
        ``hits``, each token found is added there as a finding on the shown name."""
        secrets = self.secrets(text)
        shown = text
        for _, secret in secrets:
            shown = shown.replace(secret, mask(secret))
        shown = printable(shown)
        if hits is not None:
            for rule, secret in secrets:
                hashed = hash_secret(secret)
                hits.setdefault(
                    (rule.id, hashed),
                    Hit(
                        rule.id,
                        f"{rule.title} in a file name",
                        rule.severity,
                        shown,
                        None,
                        hashed,
                        redact(secret),
                    ),
                )
        return shown


PARTS_KEPT = 1 << 17  # directories and names whose answer a KeywordScreen keeps (a few MB at most)
# Names asked before the screen is built: compiling its regex costs 20 ms of a small scan's
# start, and a few thousand RE2 calls cost less than that.
SCREEN_AFTER = 2000


class KeywordScreen:
    """Whether a (lowercased) name may hold a keyword, asked for every path a layer holds.

    In ``re``, which keeps the GIL: RE2 gives it up around each call, and the reading thread,
    sharing its process with the hashing and pool threads, then waited to get it back (a
    second of CPU on a 72,000-file layer). The directory and the last component are searched
    apart, each answer kept (a layer's 72,000 paths hold 11,000 directories and 31,000
    names), with one regex built as a trie, so ``re`` tries a few branches per position
    rather than one per keyword. Keywords that hold a ``/`` can span components: they are
    looked for in the whole name. Built after the first ``after`` names, which it lets through
    (the caller's exact check decides), so a small scan never compiles it."""

    def __init__(self, keywords: list[str], *, after: int = 0) -> None:
        self.keywords = keywords
        self.after = after
        self.built = False
        self.parts: dict[str, bool] = {}  # directories and names asked before, and the answer

    def _build(self) -> None:
        within = [keyword for keyword in self.keywords if "/" not in keyword]
        across = [keyword for keyword in self.keywords if "/" in keyword]
        self.across = re.compile("|".join(map(re.escape, across))) if across else None
        self.regex = re.compile(_trie(within)) if within else None
        self.built = True

    def __call__(self, lowered: str) -> bool:
        if not self.built:
            if self.after > 0:
                self.after -= 1
                return True
            self._build()
        if self.across is not None and self.across.search(lowered):
            return True
        if self.regex is None:
            return False
        directory, _, name = lowered.rpartition("/")
        return self._holds(directory) or self._holds(name)

    def _holds(self, part: str) -> bool:
        held = self.parts.get(part)
        if held is None:
            held = self.regex.search(part) is not None  # type: ignore[union-attr]
            if len(self.parts) < PARTS_KEPT:
                self.parts[part] = held
        return held


def _trie(words: list[str]) -> str:
    """A regex matching any of ``words`` (none empty), shaped as their trie."""
    root: dict = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}  # a word ends here

    def branch(node: dict) -> str:
        parts = [re.escape(char) + branch(child) for char, child in sorted(node.items()) if char]
        if not parts:
            return ""
        body = parts[0] if len(parts) == 1 else f"(?:{'|'.join(parts)})"
        return f"(?:{body})?" if "" in node else body

    return branch(root)


def mask(secret: str) -> str:
    """What replaces a token inside a shown name: its redacted preview and a short hash, so two
    names holding different tokens stay apart."""
    return f"{redact(secret)}[{hash_secret(secret)[:8]}]"


_GUARDS: dict[int, tuple[RuleSet, NameGuard]] = {}


def name_guard(rules: RuleSet) -> NameGuard:
    """One guard per rule set (built once, however many files ask)."""
    entry = _GUARDS.get(id(rules))
    if entry is None or entry[0] is not rules:
        entry = _GUARDS[id(rules)] = (rules, NameGuard(rules))
    return entry[1]


def scrub_report(report: ScanReport, guard: NameGuard) -> None:
    """Every string a report shows that came from scanned input, made printable and redacted:
    the last line of defence before any format renders it."""
    report.notes = [guard.shown(note) for note in report.notes]
    report.problems = [guard.shown(problem) for problem in report.problems]
    report.findings = [
        dataclasses.replace(
            finding,
            title=guard.shown(finding.title),
            path=guard.shown(finding.path),
            target=guard.shown(finding.target),
            redacted=printable(finding.redacted),
            layer=_printable_ref(finding.layer),
            hidden_by=_printable_ref(finding.hidden_by),
        )
        for finding in report.findings
    ]
    report.targets = [
        dataclasses.replace(
            target, name=guard.shown(target.name), layers=tuple(map(_printable_ref, target.layers))
        )
        for target in report.targets
    ]


def _printable_ref(ref: LayerRef | None) -> LayerRef | None:
    return None if ref is None else dataclasses.replace(ref, created_by=printable(ref.created_by))
