"""Find secrets in bytes: one multi-pattern pass over each chunk finds candidate matches with
their positions; only the lines holding one go to Python, and there only the rules and
detect-secrets plugins (with its false-positive filters) whose pattern matched that line.

The pass holds each rule's keywords, or its ``trigger``: an RE2 pattern for the whole shape
(the generic keyword-assignment rules give key, operator and value), so a line that merely
names a password costs the automaton nothing more.

``exhaustive=True`` skips the prefilter and passes every line through every detector; the
test suite checks both modes report the same findings.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache, cached_property

from hubguard.detect.rules import PluginRule, RuleSet, TokenRule
from hubguard.errors import InputError
from hubguard.model import Finding, Severity, hash_secret, redact

WINDOW = 2048  # bytes kept on each side of a keyword inside a very long (minified) line
LONG_LINE = 4 * WINDOW
BLOCK_LIMIT = 64 * 1024  # how far a multi-line secret (a PEM block) may reach
# RE2's budget for the prefilter automaton: with ~900 keywords the default 8 MiB makes its DFA
# thrash (three times slower); 64 MiB keeps it in memory, and only what is used is allocated.
PREFILTER_MEMORY = 64 << 20
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


def _fragments(rule: TokenRule) -> list[str]:
    """What a rule contributes to the pass: its trigger, else its own regex when that can stand
    in for it (see ``derived_trigger``), else its keywords."""
    if rule.trigger:
        return [_loosened(rule.trigger)]
    derived = derived_trigger(rule)
    return [derived] if derived else [re.escape(keyword) for keyword in rule.keywords]


COUNTED = re.compile(r"\{(\d+)(?:,(\d*))?\}\??")
COUNT_LIMIT = 32


def _loosened(pattern: str) -> str:
    """Counted repetitions over ``COUNT_LIMIT`` (``{86}``, ``{8,128}``) as ``+`` or ``*``: still a
    superset, and the one automaton for every rule no longer multiplies its states by them
    (with them, RE2's DFA ran out of memory and the pass fell to a few MB/s)."""

    def loosen(match: re.Match[str]) -> str:
        low, high = int(match.group(1)), match.group(2)
        top = low if high is None else (int(high) if high else COUNT_LIMIT + 1)
        if top <= COUNT_LIMIT:
            return match.group(0)
        return "*" if low == 0 else "+"

    return COUNTED.sub(loosen, pattern)


SHORTHANDS = re.compile(r"\\[wWdDsSbB]")  # Unicode-aware in re, ASCII in RE2: not derived
LOOKAROUND = re.compile(r"\(\?<?[=!]")
NEGATED_CLASS = re.compile(r"(?<!\\)\[\^")
NAMED_GROUP = re.compile(r"(?<!\\)\(\?P<\w+>")
SECRET_PREFIX = re.compile(r"[A-Za-z0-9_]{3}")  # a literal prefix of at least three characters


@cache
def derived_trigger(rule: TokenRule) -> str:
    """The rule's regex without its lookarounds, with negated classes kept to one line: a
    superset of what the rule matches in a line, and far more selective than a bare keyword
    such as ``secret``. Only when RE2 takes it, no shorthand class differs between the engines,
    and every keyword is written in the regex (so the trigger is at least that selective)."""
    pattern = rule.regex.pattern
    source = pattern.lower().replace("\\", "")
    if SHORTHANDS.search(pattern) or "\\n" in pattern or not all(k in source for k in rule.keywords):
        # A rule whose secret starts with a fixed prefix (a shape rule's ``live_…`` after its
        # context words) is woken by the secret alone: still a superset, and far more selective
        # than context words such as ``token``.
        return _secret_trigger(pattern)
    return _checked_trigger(pattern)


def _secret_trigger(pattern: str) -> str:
    """The rule's ``secret`` group as a trigger, when it starts with a literal prefix."""
    start = pattern.find("(?P<secret>")
    if start < 0:
        return ""
    body = _group_body(pattern, start)
    if not SECRET_PREFIX.match(body) or SHORTHANDS.search(body) or "\\n" in body:
        return ""
    return _checked_trigger(body)


def _group_body(pattern: str, start: int) -> str:
    """The text inside the named group that opens at ``start``."""
    return pattern[pattern.index(">", start) + 1 : _group_end(pattern, start)]


def _checked_trigger(pattern: str) -> str:
    """``pattern`` made a one-line superset for the pass, if both engines compile it."""
    trigger = _loosened(NEGATED_CLASS.sub(r"[^\\n", _without_lookarounds(pattern)))
    trigger = NAMED_GROUP.sub("(?:", trigger)  # one alternation of every rule: names would clash
    accelerator = _re2()
    if accelerator is None or "(?P=" in trigger:
        return ""
    try:
        accelerator.compile(b"(?im)" + trigger.encode(), _quiet(accelerator))
        re.compile(trigger.encode(), re.IGNORECASE | re.MULTILINE)
    except (accelerator.error, re.error):
        return ""
    return trigger


def _without_lookarounds(pattern: str) -> str:
    """``pattern`` with every ``(?=…)``, ``(?!…)``, ``(?<=…)``, ``(?<!…)`` group removed."""
    out, position = [], 0
    while (found := LOOKAROUND.search(pattern, position)) is not None:
        out.append(pattern[position : found.start()])
        position = _group_end(pattern, found.start()) + 1
    out.append(pattern[position:])
    return "".join(out)


def _group_end(pattern: str, start: int) -> int:
    """Where the group that opens at ``start`` closes (parentheses balanced, escapes and
    character classes skipped); the pattern's end when it never closes."""
    depth, index, in_class = 0, start, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            if pattern.startswith(("[]", "[^]"), index):
                index += 2 if pattern[index + 1] == "]" else 3
                continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return index


class _Triggers:
    """Which rules and plugins a line can wake, from the same fragments as the pass,
    case-insensitively: in one pass with an RE2 set, else fragment by fragment with ``re``."""

    def __init__(self, rules: tuple[TokenRule, ...], plugins: list[_Plugin]) -> None:
        owners: dict[str, tuple[set[str], set[int]]] = {}
        for rule in rules:
            for fragment in _fragments(rule):
                owners.setdefault(fragment, (set(), set()))[0].add(rule.id)
        for position, plugin in enumerate(plugins):
            for fragment in plugin.rule.prefilter:
                owners.setdefault(fragment, (set(), set()))[1].add(position)
        self.fragments = list(owners)
        self.owners = [owners[fragment] for fragment in self.fragments]
        self.regexes = [re.compile(fragment, re.IGNORECASE) for fragment in self.fragments]
        self.set = _re2_set(self.fragments)

    def woken(self, line: str) -> tuple[set[str], set[int]]:
        if self.set is not None:
            matched = self.set.Match(line) or ()
        else:
            matched = [i for i, regex in enumerate(self.regexes) if regex.search(line)]
        rules: set[str] = set()
        plugins: set[int] = set()
        for index in matched:
            rules |= self.owners[index][0]
            plugins |= self.owners[index][1]
        return rules, plugins


def _re2_set(fragments: list[str]):
    accelerator = None if os.environ.get("HUBGUARD_PURE_PYTHON") else _re2()
    if accelerator is None:
        return None
    options = _quiet(accelerator)
    options.case_sensitive = False
    matcher = accelerator.Set.SearchSet(options)
    try:
        for fragment in fragments:
            matcher.Add(fragment)
    except accelerator.error:
        return None  # a construct RE2 lacks: fragment by fragment with re instead
    matcher.Compile()
    return matcher


class Detector:
    """Compiled once per rule set; ``scan_text`` / ``scan_binary`` are the hot path."""

    def __init__(self, rules: RuleSet, *, exhaustive: bool = False) -> None:
        self.rules = rules
        self.exhaustive = exhaustive
        # Most severe first: when two rules see the same value, the more specific claim is kept.
        ordered = sorted(rules.token_rules, key=lambda rule: -rule.severity)
        self.file_rules = tuple(r for r in ordered if r.scope != "config")
        self.config_rules = tuple(r for r in ordered if r.scope != "files")
        fragments = [fragment for rule in self.file_rules for fragment in _fragments(rule)]
        fragments += [f for plugin in rules.plugins for f in plugin.prefilter]
        self.prefilter = _compile(fragments)
        # Once a once-per-file rule (password hashes in a dump) has its finding, the rest of the
        # chunk is searched without it: a million-row dump then costs one automaton pass.
        once = {fragment for rule in self.file_rules if rule.once_per_file for fragment in _fragments(rule)}
        self.prefilter_after_once = _compile([f for f in fragments if f not in once]) if once else None
        binary_rules = [rule for rule in self.file_rules if rule.binary]
        self.binary_prefilter = _compile([re.escape(k) for r in binary_rules for k in r.keywords])
        self.binary_rules = tuple(binary_rules)
        self.plugins = [_Plugin(p) for p in rules.plugins]
        self.triggers = _Triggers(ordered, self.plugins)
        self._position = {rule.id: position for position, rule in enumerate(ordered)}
        self._by_id = {rule.id: rule for rule in ordered}
        self._path_bound = tuple(rule for rule in self.file_rules if not rule.applies_everywhere)
        self._views: dict[frozenset[str], _RuleView] = {}

    # -- text ---------------------------------------------------------------------------

    def scan_text(self, data: bytes, path: str, first_line: int = 1) -> list[Hit]:
        """Every secret in a text buffer; ``first_line`` numbers its first line."""
        rules = self._file_rules_for(path)
        found: dict[tuple[str, str], Hit] = {}
        once_done = [False]
        for start, end, line_no in self._candidates(data, first_line, once_done):
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
        skipped = frozenset(rule.id for rule in self._path_bound if not rule.applies_to(path))
        view = self._views.get(skipped)
        if view is None:
            view = _RuleView(rule for rule in self.file_rules if rule.id not in skipped)
            self._views[skipped] = view
        return view

    def _candidates(
        self, data: bytes, first_line: int, once_done: list[bool]
    ) -> Iterator[tuple[int, int, int]]:
        """(start, end, line number) of each line (or window of a long line) worth a look."""
        if self.exhaustive:
            yield from _all_lines(data, first_line)
            return
        line_no, counted_to, pos = first_line, 0, 0
        while (match := self._pass(once_done[0]).search(data, pos)) is not None:
            start = data.rfind(b"\n", 0, match.start()) + 1
            end = data.find(b"\n", match.start())  # a trigger's line is where it starts
            end = len(data) if end < 0 else end
            line_no += data.count(b"\n", counted_to, start)
            counted_to = start
            if end - start > LONG_LINE:
                start = max(start, match.start() - WINDOW)
                end = min(end, min(match.end(), match.start() + LONG_LINE) + WINDOW)
                yield start, end, line_no
                pos = end
            else:
                yield start, end, line_no
                pos = end + 1

    def _pass(self, once_done: bool):
        return self.prefilter_after_once if once_done and self.prefilter_after_once else self.prefilter

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
        if self.binary_prefilter is None:
            return []
        found: dict[tuple[str, str], Hit] = {}
        for match in self.binary_prefilter.finditer(data):
            window = data[max(0, match.start() - 256) : match.end() + WINDOW].decode("latin-1")
            for rule in self.binary_rules:
                for secret in rule.secrets(window):
                    if rule.block_end:
                        secret = _block(data, max(0, match.start() - 256), rule.block_end, secret) or secret
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


def _compile(fragments: list[str]):
    """The pass: one case-insensitive alternation over raw bytes. RE2 runs it as an automaton,
    about a hundred times faster than ``re``, which is the fallback (also forced with
    HUBGUARD_PURE_PYTHON=1) for constructs RE2 lacks."""
    if not fragments:
        return None
    pattern = "|".join(sorted(set(fragments))).encode()
    accelerator = None if os.environ.get("HUBGUARD_PURE_PYTHON") else _re2()
    if accelerator is not None:
        options = _quiet(accelerator)
        options.max_mem = PREFILTER_MEMORY  # RE2's default 8 MiB made the pass three times slower
        try:
            return accelerator.compile(b"(?im)" + pattern, options)
        except accelerator.error:
            pass  # a construct RE2 lacks: the fallback handles it
    return re.compile(pattern, re.IGNORECASE | re.MULTILINE)


def _quiet(accelerator):
    """RE2 options that keep a pattern RE2 rejects off stderr: the fallback takes it silently."""
    options = accelerator.Options()
    options.log_errors = False
    return options


def _re2():
    try:
        import re2
    except ImportError:
        return None
    return re2


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
