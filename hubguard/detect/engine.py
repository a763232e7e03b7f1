"""Find secrets in bytes: one multi-pattern pass over each chunk finds candidate matches with
their positions; only the lines holding one go to Python, and there only the rules and
detect-secrets plugins (with its false-positive filters) whose pattern matched that line.

The pass (Hyperscan, else RE2) holds each rule's ``trigger``: a pattern for the whole shape
(the generic keyword-assignment rules give key, operator and value), derived from the rule's
own regex when the pack gives none, its keywords only when neither can be had; so a line that
merely names a password costs the automaton nothing more.

``exhaustive=True`` skips the prefilter and passes every line through every detector; the
test suite checks both modes report the same findings.
"""

from __future__ import annotations

import hashlib
import inspect
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

from hubguard.detect.hyperscan_pass import make_pass, make_triggers, make_window_pass
from hubguard.detect.rules import PluginRule, RuleSet, TokenRule
from hubguard.detect.trigger_store import prime_derived_triggers
from hubguard.detect.triggers import LONG_LINE, WINDOW, fragments_of
from hubguard.errors import InputError
from hubguard.model import Finding, Severity, hash_secret, redact

BLOCK_LIMIT = 64 * 1024  # how far a multi-line secret (a PEM block) may reach
PRAGMA = re.compile(r"pragma: ?allowlist[ \t]+secret", re.IGNORECASE)
PRAGMA_NEXTLINE = re.compile(r"pragma: ?allowlist[ \t]+nextline[ \t]+secret", re.IGNORECASE)


@dataclass(frozen=True)
class Hit:
    """A detected secret, already hashed and redacted: the value itself goes no further."""

    rule_id: str
    title: str
    severity: Severity
    path: str
    line: int | None
    hashed_secret: str
    redacted: str
    pragma: bool = False
    more: int = 0  # this hit stands for so many more of its rule in its file (see cap_per_file)

    def finding(self, source: str, target: str, *, path: str | None = None, **where: object) -> Finding:
        """This hit as a reported finding; ``where`` adds layer, state, hidden_by, third_party."""
        return Finding(
            rule_id=self.rule_id,
            title=self.title,
            severity=self.severity,
            source=source,
            path=self.path if path is None else path,
            line=self.line,
            hashed_secret=self.hashed_secret,
            redacted=self.redacted,
            target=target,
            more=self.more,
            **where,  # type: ignore[arg-type]
        )


@cache
def detect_secrets_filters() -> tuple[tuple[Callable[..., bool], tuple[str, ...]], ...]:
    """detect-secrets' false-positive heuristics, with the arguments each takes.

    Imported on first use: a warm (cached) scan never needs detect-secrets at all.
    """
    from detect_secrets.filters import heuristic

    checks = (
        heuristic.is_sequential_string,
        heuristic.is_potential_uuid,
        heuristic.is_likely_id_string,
        heuristic.is_templated_secret,
        heuristic.is_prefixed_with_dollar_sign,
        heuristic.is_indirect_reference,
        heuristic.is_lock_file,
        heuristic.is_not_alphanumeric_string,
        heuristic.is_swagger_file,
    )
    return tuple((check, tuple(inspect.signature(check).parameters)) for check in checks)


class _RuleView(tuple):
    """Token rules in severity order, with their ids for membership tests."""

    def __init__(self, rules: Iterable[TokenRule]) -> None:
        self.ids = frozenset(rule.id for rule in self)


@dataclass
class _Plugin:
    """A detect-secrets plugin in play. Made on first use: the pass decides which lines reach
    it, and a scan in which none does never imports detect-secrets (a third of a second)."""

    rule: PluginRule

    @cached_property
    def instance(self) -> object:
        return _plugin_instance(self.rule.name)


class Detector:
    """Compiled once per rule set; ``scan_text`` / ``scan_binary`` are the hot path."""

    def __init__(self, rules: RuleSet, *, exhaustive: bool = False, store: Path | None = None) -> None:
        """``store``: a directory that keeps the compiled prefilter (see make_pass) and the
        derived triggers (see trigger_store) between runs."""
        self.rules = rules
        prime_derived_triggers(rules.token_rules, store)
        self.exhaustive = exhaustive
        # Most severe first: when two rules see the same value, the more specific claim is kept.
        ordered = sorted(rules.token_rules, key=lambda rule: -rule.severity)
        self.file_rules = tuple(r for r in ordered if r.scope != "config")
        self.config_rules = tuple(r for r in ordered if r.scope != "files")
        fragments = [fragment for rule in self.file_rules for fragment in fragments_of(rule)]
        fragments += [f for plugin in rules.plugins for f in plugin.prefilter]
        # Once a once-per-file rule (password hashes in a dump) has its finding, the rest of the
        # chunk is searched without it: a million-row dump then costs one automaton pass.
        once = {fragment for rule in self.file_rules if rule.once_per_file for fragment in fragments_of(rule)}
        self.prefilter = make_pass(fragments, once, store)
        binary_rules = [rule for rule in self.file_rules if rule.binary]
        self.binary_prefilter = make_window_pass(
            [fragment for rule in binary_rules for fragment in fragments_of(rule)],
            [keyword for rule in binary_rules for keyword in rule.keywords],
            store,
        )
        self.binary_rules = tuple((rule, tuple(k.lower() for k in rule.keywords)) for rule in binary_rules)
        self.plugins = [_Plugin(p) for p in rules.plugins]
        self.triggers = make_triggers(ordered, [plugin.prefilter for plugin in rules.plugins], self.prefilter)
        self._position = {rule.id: position for position, rule in enumerate(ordered)}
        self._by_id = {rule.id: rule for rule in ordered}
        self._path_bound = tuple(rule for rule in self.file_rules if not rule.applies_everywhere)
        self._views: dict[frozenset[str], _RuleView] = {}
        self._last_path: tuple[str | None, _RuleView] = (None, _RuleView(()))

    # -- text ---------------------------------------------------------------------------

    def scan_text(self, data: bytes, path: str, first_line: int = 1) -> list[Hit]:
        """Every secret in a text buffer; ``first_line`` numbers its first line."""
        rules: _RuleView | None = None  # asked at the first candidate: most files have none
        found: dict[tuple[str, str], Hit] = {}
        once_done = [False]
        for start, end, line_no in self._candidates(data, first_line, once_done):
            rules = rules if rules is not None else self._file_rules_for(path)
            line = data[start:end].decode("utf-8", "replace")
            for hit in self._scan_line(line, data, start, path, line_no, rules):
                identity = self.identity(hit)
                found.setdefault(identity, hit)
                once_done[0] = once_done[0] or not identity[1]
        return list(found.values())

    def identity(self, hit: Hit) -> tuple[str, str]:
        """Hits with the same identity in one file are one finding: the same value seen by one
        rule, or any value of a once-per-file rule (a dump's password hashes)."""
        rule = self._by_id.get(hit.rule_id)
        return (
            (hit.rule_id, "") if rule is not None and rule.once_per_file else (hit.rule_id, hit.hashed_secret)
        )

    def _file_rules_for(self, path: str) -> _RuleView:
        """The file rules that apply to ``path``. Hundreds of rules apply everywhere; only the
        few with paths are asked, and each distinct outcome is built once."""
        if path == self._last_path[0]:
            return self._last_path[1]  # a file's chunks and decoded views ask one after another
        skipped = frozenset(rule.id for rule in self._path_bound if not rule.applies_to(path))
        view = self._views.get(skipped)
        if view is None:
            view = _RuleView(rule for rule in self.file_rules if rule.id not in skipped)
            self._views[skipped] = view
        self._last_path = (path, view)
        return view

    def _candidates(
        self, data: bytes, first_line: int, once_done: list[bool]
    ) -> Iterator[tuple[int, int, int]]:
        """(start, end, line number) of each line (or window of a long line) worth a look."""
        if self.exhaustive:
            yield from _all_lines(data, first_line)
            return
        line_no, counted_to, pos = first_line, 0, 0
        for match_start, match_end in self.prefilter.matches(data, once_done):
            if match_start < pos:
                continue  # in a line (or window) already yielded
            start = data.rfind(b"\n", 0, match_start) + 1
            end = data.find(b"\n", match_start)  # a trigger's line is where it starts
            end = len(data) if end < 0 else end
            line_no += data.count(b"\n", counted_to, start)
            counted_to = start
            if end - start > LONG_LINE:
                start = max(start, match_start - WINDOW)
                end = min(end, min(match_end, match_start + LONG_LINE) + WINDOW)
                yield start, end, line_no
                pos = end
            else:
                yield start, end, line_no
                pos = end + 1

    def _scan_line(
        self, line: str, data: bytes, start: int, path: str, line_no: int, rules: list[TokenRule]
    ) -> Iterator[Hit]:
        pragma = bool(PRAGMA.search(line)) or _previous_line_has_nextline_pragma(data, start)
        for rule_id, title, severity, secret in self._line_secrets(line, data, start, path, rules):
            yield self._hit(rule_id, title, severity, path, line_no, secret, pragma)

    def _line_secrets(
        self, line: str, data: bytes, start: int, path: str, rules: list[TokenRule]
    ) -> Iterator[tuple[str, str, Severity, str]]:
        """(rule id, title, severity, secret value) for each secret in one line; values stay here."""
        seen: list[str] = []
        plugins = self.plugins
        if not self.exhaustive:
            woken_rules, woken_plugins = self.triggers.woken(line)
            if isinstance(rules, _RuleView):  # few rules wake per line: look those up
                woken = sorted(woken_rules & rules.ids, key=self._position.__getitem__)
                rules = [self._by_id[rule_id] for rule_id in woken]
            else:
                rules = [rule for rule in rules if rule.id in woken_rules]
            plugins = [self.plugins[position] for position in sorted(woken_plugins)]
        for rule in rules:
            for secret in rule.secrets(line):
                if rule.block_end:
                    secret = _block(data, start, rule.block_end, secret) or secret
                if _overlaps(secret, seen) or self.rules.allowed(secret, path):
                    continue
                seen.append(secret)
                yield rule.id, rule.title, rule.severity, secret
        for plugin in plugins:
            for secret in self._plugin_secrets(plugin, line, path):
                if _overlaps(secret, seen) or self.rules.allowed(secret, path):
                    continue
                if not _left_bounded(line, secret):
                    continue  # a token prefix inside a longer word (abcdexoxb-…) starts no token
                seen.append(secret)
                title = getattr(plugin.instance, "secret_type", plugin.rule.name)
                yield plugin.rule.id, title, plugin.rule.severity, secret

    def redact_text(self, text: str, path: str) -> str:
        """``text`` with every secret in it replaced by its redacted preview (for history steps)."""
        rules = [rule for rule in self.config_rules if rule.applies_to(path)]
        data = text.encode("utf-8", "surrogateescape")
        for *_, secret in list(self._line_secrets(text, data, 0, path, rules)):
            text = text.replace(secret, redact(secret))
        return text

    def _plugin_secrets(self, plugin: _Plugin, line: str, path: str) -> Iterator[str]:
        for potential in plugin.instance.analyze_line(filename=path, line=line):
            secret = potential.secret_value
            arguments = {"secret": secret, "line": line, "plugin": plugin.instance, "filename": path}
            if not secret or any(
                check(**{name: arguments[name] for name in parameters})
                for check, parameters in detect_secrets_filters()
            ):
                continue
            yield secret

    @staticmethod
    def _hit(
        rule_id: str, title: str, severity: Severity, path: str, line: int | None, secret: str, pragma: bool
    ) -> Hit:
        return Hit(rule_id, title, severity, path, line, hash_secret(secret), redact(secret), pragma)

    # -- values and binaries ----------------------------------------------------------------

    def scan_value(self, value: str, path: str, line: int | None) -> list[Hit]:
        """A config value (an Env entry, a label, a history step): every detector, no prefilter."""
        rules = [rule for rule in self.config_rules if rule.applies_to(path)]
        data = value.encode("utf-8", "surrogateescape")
        hits = {}
        for text_line in value.splitlines() or [value]:
            for hit in self._scan_line(text_line, data, 0, path, line or 0, rules):
                hits.setdefault((hit.rule_id, hit.hashed_secret), hit)
        return [
            Hit(h.rule_id, h.title, h.severity, h.path, line, h.hashed_secret, h.redacted, h.pragma)
            for h in hits.values()
        ]

    def scan_binary(self, data: bytes, path: str) -> list[Hit]:
        """Binaries and media are not line-scanned; high-confidence token formats still are."""
        found: dict[tuple[str, str], Hit] = {}
        for start, end in self.binary_prefilter.spans(data):
            window = data[max(0, start - 256) : end + WINDOW].decode("latin-1")
            lowered = window.lower()
            for rule, keywords in self.binary_rules:
                if not any(keyword in lowered for keyword in keywords):
                    continue  # its keywords are not here: its regex need not run (most of a binary's cost)
                for secret in rule.secrets(window):
                    if rule.block_end:
                        secret = _block(data, max(0, start - 256), rule.block_end, secret) or secret
                    if not self.rules.allowed(secret, path):
                        hit = self._hit(rule.id, rule.title, rule.severity, path, None, secret, False)
                        found.setdefault(self.identity(hit), hit)
        return list(found.values())


def cap_per_file(hits: list[Hit], limit: int) -> list[Hit]:
    """At most ``limit`` hits per rule per file, then one summary hit for the rest: a file
    that repeats a finding thousands of times must not bury the report (the scan still fails)."""
    if limit <= 0 or len(hits) <= limit:
        return hits
    groups: dict[tuple[str, str], list[Hit]] = {}
    for hit in hits:
        groups.setdefault((hit.path, hit.rule_id), []).append(hit)
    kept: list[Hit] = []
    for group in groups.values():
        if len(group) <= limit:
            kept.extend(group)
            continue
        group.sort(key=lambda hit: (hit.line or 0, hit.hashed_secret))
        kept.extend(group[:limit])
        rest = group[limit:]
        digest = hashlib.sha1("".join(hit.hashed_secret for hit in rest).encode()).hexdigest()
        first = rest[0]
        title = f"{first.title} (and {len(rest)} more in this file, not listed)"
        kept.append(
            Hit(
                first.rule_id,
                title,
                max(h.severity for h in rest),
                first.path,
                first.line,
                digest,
                "…",
                False,
                len(rest),
            )
        )
    return kept


def _overlaps(secret: str, seen: list[str]) -> bool:
    """The same secret seen by another detector on this line (whole, or as part of a larger match)."""
    return any(secret in other or other in secret for other in seen)


def _left_bounded(line: str, secret: str) -> bool:
    """Whether ``secret`` occurs in ``line`` where no letter or digit runs into it from the left
    (``abcdexoxb-…`` is not a Slack token). A value not found verbatim (a PEM block) passes."""
    at = line.find(secret)
    if at < 0:
        return True
    while at >= 0:
        if at == 0 or not line[at - 1].isalnum():
            return True
        at = line.find(secret, at + 1)
    return False


def _plugin_instance(name: str) -> object:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    classes = {cls.__name__: cls for cls in get_mapping_from_secret_type_to_class().values()}
    if name not in classes:
        raise InputError(f"rule packs: detect-secrets has no plugin {name!r}")  # met when first used
    return classes[name]()


def _all_lines(data: bytes, first_line: int) -> Iterator[tuple[int, int, int]]:
    start, line_no = 0, first_line
    while start < len(data):
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        for window_start in range(start, max(end, start + 1), LONG_LINE - WINDOW):
            yield window_start, min(end, window_start + LONG_LINE), line_no
        start, line_no = end + 1, line_no + 1


def _previous_line_has_nextline_pragma(data: bytes, start: int) -> bool:
    if start == 0:
        return False
    previous = data.rfind(b"\n", 0, start - 1) + 1
    text = data[previous : start - 1][-512:].decode("utf-8", "replace")
    return bool(PRAGMA_NEXTLINE.search(text))


def _block(data: bytes, start: int, block_end: str, first: str) -> str:
    """A multi-line secret (a PEM block) from where it begins to the end marker's line."""
    begins = data.find(first[:64].encode("utf-8", "surrogateescape"), start, start + BLOCK_LIMIT)
    start = begins if begins >= 0 else start
    end_marker = data.find(block_end.encode(), start, start + BLOCK_LIMIT)
    if end_marker < 0:
        return ""
    end = data.find(b"\n", end_marker)
    end = len(data) if end < 0 else end
    return data[start:end].decode("utf-8", "replace").strip()
