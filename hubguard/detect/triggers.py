"""The prefilter: what each rule contributes to the one pass over a chunk's bytes (its
trigger, a regex derived from its own, or its keywords), the pass itself, and which rules and
plugins a candidate line wakes. Where Hyperscan is installed the pass and the triggers run on
it (``hyperscan_pass``); this module is the RE2 form.

RE2 builds its automaton lazily, and a new state costs time in proportion to the whole
program: one alternation of ~850 fragments spent most of a cold scan building states (random
text such as a dump's password hashes kept finding new ones). So the pass runs as
``PASS_GROUPS`` smaller automata merged in order: each cheap to build, together cheaper warm.
"""

from __future__ import annotations

import contextlib
import heapq
import os
import re
from collections.abc import Iterator
from functools import cached_property

from hubguard.detect.rules import TokenRule

# RE2's budget for each automaton of the pass: the default 8 MiB made a large one thrash.
PREFILTER_MEMORY = 64 << 20
PASS_GROUPS = 8  # automata in the pass and in the trigger sets (see the module docstring)
WINDOW = 2048  # bytes kept on each side of a keyword inside a very long (minified) line
LONG_LINE = 4 * WINDOW


def fragments_of(rule: TokenRule) -> list[str]:
    """What a rule contributes to the pass: its trigger, else its own regex when that can stand
    in for it (see ``derived_trigger``), else its keywords."""
    if rule.trigger:
        return [_loosened(rule.trigger)]
    derived = derived_trigger(rule)
    return [derived] if derived else [re.escape(keyword) for keyword in rule.keywords]


COUNTED = re.compile(r"\{(\d+)(?:,(\d*))?\}\??")
COUNT_LIMIT = 32
LOOSE_RUN = 16  # a longer run still needs this many characters: ``secret_ref`` wakes no ``secret_{43}``


def _loosened(pattern: str) -> str:
    """Counted repetitions over ``COUNT_LIMIT`` (``{86}``, ``{8,128}``) as at least ``LOOSE_RUN``
    (``{16,}``, ``{8,}``): still a superset, and the automata no longer multiply their states by
    them (with them, RE2's DFA ran out of memory and the pass fell to a few MB/s)."""

    def loosen(match: re.Match[str]) -> str:
        low, high = int(match.group(1)), match.group(2)
        top = low if high is None else (int(high) if high else COUNT_LIMIT + 1)
        if top <= COUNT_LIMIT:
            return match.group(0)
        return f"{{{min(low, LOOSE_RUN)},}}"

    return COUNTED.sub(loosen, pattern)


NON_ASCII = r"[^\x00-\x7f]"
# Shorthand classes are Unicode-aware in ``re`` and ASCII in RE2: a trigger writes each as an
# ASCII class that also takes every non-ASCII character, a superset in both engines (``\b``
# and ``\B`` are dropped: no boundary is also a superset).
SHORTHAND_SUPERSETS = {
    "w": f"(?:[A-Za-z0-9_]|{NON_ASCII})",
    "d": f"(?:[0-9]|{NON_ASCII})",
    "s": f"(?:[\\t\\x0b-\\r ]|{NON_ASCII})",  # not ``\\n``: a rule runs on one line
    "W": "[^A-Za-z0-9_]",
    "D": "[^0-9]",
    "S": "[^\\t-\\r ]",
    "b": "",
    "B": "",
}
IN_CLASS = {"w": "A-Za-z0-9_", "d": "0-9", "s": "\\t\\x0b-\\r "}  # ASCII parts, inside a class
IN_CLASS_SHORTHAND = re.compile(r"(?<!\\)((?:\\\\)*)\\([wds])")
NEGATED_SHORTHAND = re.compile(r"(?<!\\)(?:\\\\)*\\[WDS]")
LOOKAROUND = re.compile(r"\(\?<?[=!]")
NEGATED_CLASS = re.compile(r"(?<!\\)\[\^")
NEGATED_NEWLINE = re.compile(r"(?<!\\)\[\^\\n")  # ``[^\n…]``: one line, as every trigger is
NAMED_GROUP = re.compile(r"(?<!\\)\(\?P<\w+>")
SECRET_PREFIX = re.compile(r"[A-Za-z0-9_]{3}")  # a literal prefix of at least three characters


DERIVED: dict[tuple[str, tuple[str, ...]], str] = {}  # by (regex, keywords); trigger_store keeps it


def derived_trigger(rule: TokenRule) -> str:
    """The rule's regex without its lookarounds and leading classes, its shorthand classes
    widened (``_ascii_superset``), negated classes kept to one line: a superset of its matches
    in a line, far more selective than a bare keyword such as ``secret``. Only when RE2 takes
    it and every keyword is written in the regex (so it is at least that selective)."""
    key = (rule.regex.pattern, rule.keywords)
    if key not in DERIVED:
        DERIVED[key] = _derived(*key)
    return DERIVED[key]


def _derived(pattern: str, keywords: tuple[str, ...]) -> str:
    source = pattern.lower().replace("\\", "")
    if "\\n" in NEGATED_NEWLINE.sub("[^", pattern) or not all(k in source for k in keywords):
        # A rule whose secret starts with a fixed prefix (a shape rule's ``live_…`` after its
        # context words) is woken by the secret alone: a superset, more selective than ``token``.
        return _secret_trigger(pattern)
    return _checked_trigger(pattern)


def _secret_trigger(pattern: str) -> str:
    """The rule's ``secret`` group as a trigger, when it starts with a literal prefix."""
    start = pattern.find("(?P<secret>")
    if start < 0:
        return ""
    body = _group_body(pattern, start)
    if not SECRET_PREFIX.match(body) or "\\n" in body:
        return ""
    return _checked_trigger(body)


def _group_body(pattern: str, start: int) -> str:
    """The text inside the named group that opens at ``start``."""
    return pattern[pattern.index(">", start) + 1 : _group_end(pattern, start)]


def _checked_trigger(pattern: str) -> str:
    """``pattern`` made a one-line superset for the pass, if RE2 compiles it (``re`` is not asked:
    the suite checks it takes the built-in ones; ``_re_compiled`` makes one it refuses match
    every line). The answers are kept between runs (``trigger_store``)."""
    ascii_pattern = _ascii_superset(_without_lookarounds(pattern))
    ascii_pattern = _from_first_literal(ascii_pattern) if ascii_pattern is not None else ""
    if not ascii_pattern:
        return ""
    trigger = _loosened(NEGATED_CLASS.sub(r"[^\\n", ascii_pattern))
    trigger = NAMED_GROUP.sub("(?:", trigger)  # one alternation of every rule: names would clash
    accelerator = _re2()
    if accelerator is None or "(?P=" in trigger:
        return ""
    try:
        accelerator.compile(b"(?im)" + trigger.encode(), _quiet(accelerator))
    except accelerator.error:
        return ""
    return trigger


def _ascii_superset(pattern: str) -> str | None:
    """``pattern`` with its shorthand classes as ``SHORTHAND_SUPERSETS`` and possessive
    quantifiers made plain (RE2 has none; dropping them only adds matches); None when a
    negated shorthand sits inside a class, which has no such superset."""
    out: list[str] = []
    index, quantified = 0, False  # quantified: the last token was a quantifier
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            escaped = pattern[index + 1 : index + 2]
            out.append(SHORTHAND_SUPERSETS.get(escaped, pattern[index : index + 2]))
            index, quantified = index + 2, False
        elif char == "[":
            end = _class_end(pattern, index)
            body = pattern[index + 1 : end]
            if NEGATED_SHORTHAND.search(body):
                return None
            ascii_body = IN_CLASS_SHORTHAND.sub(lambda m: m.group(1) + IN_CLASS[m.group(2)], body)
            negated = body.startswith("^")
            widened = ascii_body != body and not negated
            out.append(f"(?:[{ascii_body}]|{NON_ASCII})" if widened else f"[{ascii_body}]")
            index, quantified = end + 1, False
        elif char in "*+?":
            if not (quantified and char == "+"):  # a ``+`` after a quantifier makes it possessive
                out.append(char)
            index, quantified = index + 1, not quantified  # ``?`` after a quantifier: lazy
        elif char == "{" and (counted := COUNTED.match(pattern, index)):
            out.append(counted.group(0))
            index, quantified = counted.end(), not counted.group(0).endswith("?")
        else:
            out.append(char)
            index, quantified = index + 1, False
    return "".join(out)


LEADING_CLASS = re.compile(
    r"(?:\[(?:\\.|[^\]\\])*\]|"
    + "|".join(re.escape(superset) for superset in SHORTHAND_SUPERSETS.values() if superset)
    + r")(?:[*+?]|\{\d+(?:,\d*)?\})?\??"
)


def _from_first_literal(pattern: str) -> str:
    """``pattern`` without the character classes it starts with: any match still contains a
    match of the rest, and an automaton that must try a class-led run
    (``[A-Za-z][A-Za-z0-9+.-]{1,20}://``) at every byte built new states without end."""
    while (leading := LEADING_CLASS.match(pattern)) is not None and leading.end() > 0:
        pattern = pattern[leading.end() :]
    return pattern


def _class_end(pattern: str, start: int) -> int:
    """Where the character class that opens at ``start`` closes."""
    index = start + 1
    if pattern.startswith("^", index):
        index += 1
    if pattern.startswith("]", index):
        index += 1
    while index < len(pattern) and pattern[index] != "]":
        index += 2 if pattern[index] == "\\" else 1
    return index


def _without_lookarounds(pattern: str) -> str:
    """``pattern`` with every ``(?=…)``, ``(?!…)``, ``(?<=…)``, ``(?<!…)`` group removed."""
    out, position = [], 0
    while (found := LOOKAROUND.search(pattern, position)) is not None:
        out.append(pattern[position : found.start()])
        position = _group_end(pattern, found.start()) + 1
    out.append(pattern[position:])
    return "".join(out)


def _group_end(pattern: str, start: int) -> int:
    """Where the group that opens at ``start`` closes; the pattern's end when it never closes."""
    depth = 0
    for index, char in _parentheses(pattern, start):
        depth += 1 if char == "(" else -1
        if depth == 0:
            return index
    return len(pattern)


def _parentheses(pattern: str, start: int = 0) -> Iterator[tuple[int, str]]:
    """(index, char) of each parenthesis of ``pattern`` from ``start``, escapes and character
    classes skipped."""
    index, in_class = start, False
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
        elif char in "()":
            yield index, char
        index += 1


class Triggers:
    """Which rules and plugins a line can wake, from the same fragments as the pass, without
    case: with RE2 sets (``PASS_GROUPS``, see the module docstring), else one by one in ``re``."""

    def __init__(self, rules: tuple[TokenRule, ...], plugin_fragments: list[tuple[str, ...]]) -> None:
        """``fragments``, and for each the rules and plugins (by position) it wakes; then the
        matchers, compiled here (before the workers fork, so once)."""
        owners: dict[str, tuple[set[str], set[int]]] = {}
        for rule in rules:
            for fragment in fragments_of(rule):
                owners.setdefault(fragment, (set(), set()))[0].add(rule.id)
        for position, fragments in enumerate(plugin_fragments):
            for fragment in fragments:
                owners.setdefault(fragment, (set(), set()))[1].add(position)
        self.fragments = list(owners)
        self.owners = [owners[fragment] for fragment in self.fragments]
        self._compile()

    def _compile(self) -> None:
        indexes = list(range(len(self.fragments)))
        groups = [indexes[start::PASS_GROUPS] for start in range(PASS_GROUPS)]
        self.sets = [(group, re2_set([self.fragments[i] for i in group])) for group in groups if group]
        if any(matcher is None for _, matcher in self.sets):
            self.sets = []

    @cached_property
    def regexes(self) -> list[re.Pattern[str]]:
        """Without RE2: the fragments one by one (compiled on first use, a third of a second)."""
        return [_re_compiled([fragment], re.IGNORECASE) for fragment in self.fragments]

    def matched(self, line: str) -> list[int]:
        """Which fragments (by index) occur in ``line``."""
        if self.sets:
            text = line.encode("utf-8", "replace")  # once, not once per set
            return [group[i] for group, matcher in self.sets for i in matcher.Match(text) or ()]
        return [i for i, regex in enumerate(self.regexes) if regex.search(line)]

    def woken(self, line: str) -> tuple[set[str], set[int]]:
        rules: set[str] = set()
        plugins: set[int] = set()
        for index in self.matched(line):
            rules |= self.owners[index][0]
            plugins |= self.owners[index][1]
        return rules, plugins


def re2_set(fragments: list[str]):
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


class Pass:
    """The prefilter over raw bytes: ``PASS_GROUPS`` automata, their matches merged in order.
    A once-per-file rule's fragments get their own automaton, which stops once that rule has
    its finding: a million-row dump then costs one pass."""

    def __init__(self, fragments: list[str], once: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        regular = sorted(set(fragments) - set(once))
        groups = [regular[start::PASS_GROUPS] for start in range(PASS_GROUPS)]
        self.automata = [compile_pass(group) for group in groups if group]
        self.once = compile_pass(sorted(once)) if once else None

    def matches(self, data: bytes, once_done: list[bool]) -> Iterator[tuple[int, int]]:
        """(start, end) of matches in order, at most one per short line from each automaton."""
        streams = [_spans(automaton, data) for automaton in self.automata]
        if self.once is not None:
            streams.append(_spans(self.once, data, once_done))
        return heapq.merge(*streams)


def _spans(automaton, data: bytes, stop: list[bool] | None = None) -> Iterator[tuple[int, int]]:
    """One automaton's matches; after a match in a short line the search goes on at the next
    line (this one is a candidate already), in a long one right after the match."""
    pos = 0
    while not (stop and stop[0]) and (match := automaton.search(data, pos)) is not None:
        start, end = match.span()
        yield start, end
        line_end = data.find(b"\n", start)
        line_end = len(data) if line_end < 0 else line_end
        if line_end - (data.rfind(b"\n", 0, start) + 1) > LONG_LINE:
            pos = max(end, start + 1)
        else:
            pos = line_end + 1


def compile_pass(fragments: list[str]):
    """One automaton of the pass: a case-insensitive alternation over raw bytes, its groups
    made non-capturing (RE2 then needs no submatch search per match). RE2 runs it about a
    hundred times faster than ``re``, the fallback (or HUBGUARD_PURE_PYTHON=1)."""
    if not fragments:
        return None
    pattern = "|".join(sorted(set(fragments))).encode()
    accelerator = None if os.environ.get("HUBGUARD_PURE_PYTHON") else _re2()
    if accelerator is not None:
        options = _quiet(accelerator)
        options.max_mem = PREFILTER_MEMORY
        try:
            return accelerator.compile(b"(?im)" + _uncaptured(pattern.decode()).encode(), options)
        except accelerator.error:
            pass  # a construct RE2 lacks: the fallback handles it
    return _re_compiled(sorted(set(fragments)), re.IGNORECASE | re.MULTILINE, as_bytes=True)


def _re_compiled(fragments: list[str], flags: int, *, as_bytes: bool = False) -> re.Pattern:
    """``fragments`` as one ``re`` alternation; one ``re`` refuses (only RE2 was asked) matches
    everywhere instead: its rules are tried on every line, slower, nothing missed."""
    tries = (lambda: fragments, lambda: [f if _re_takes(f, flags) else "" for f in fragments], lambda: [""])
    for parts in tries:
        with contextlib.suppress(re.error):
            pattern = "|".join(parts())
            return re.compile(pattern.encode() if as_bytes else pattern, flags)
    raise AssertionError("the empty pattern compiles")


def _re_takes(fragment: str, flags: int) -> bool:
    with contextlib.suppress(re.error):
        return bool(re.compile(fragment, flags))
    return False


def _uncaptured(pattern: str) -> str:
    """``pattern`` with every capturing group made non-capturing."""
    out, last = [], 0
    for index, char in _parentheses(pattern):
        if char == "(" and not pattern.startswith("(?", index):
            out.append(pattern[last:index] + "(?:")
            last = index + 1
    out.append(pattern[last:])
    return "".join(out)


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
