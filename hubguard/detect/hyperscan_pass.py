"""The prefilter pass on Hyperscan, where its wheel is installed (x86-64): one database for
every fragment, scanned at hundreds of MB/s whatever the text. RE2 builds its automata lazily
and slowed to tens of MB/s on random-looking bytes (hashes, binaries) however the fragments
were grouped; Hyperscan compiles them ahead, in under a second for the shipped packs.

Hyperscan reports where a match ends, at every end. The pass stops at the first one, takes
that line as the candidate and starts again after it, so a line costs one report however many
fragments match in it; a fragment matches within one line, so the line of its end is the
line a rule can match in. Fragments Hyperscan rejects stay with RE2 (``triggers.Pass``).

Two more databases of the same kind: which rules a candidate line wakes (``Triggers``), and
where a binary rule's pattern begins in a binary (windows for ``Detector.scan_binary``). Each
process scans with its own scratch space (workers are forked, so each has its copy); scans are
not shared between threads.
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from hubguard.detect.rules import TokenRule
from hubguard.detect.stores import write_entry
from hubguard.detect.triggers import LONG_LINE, WINDOW, Pass, Triggers, compile_pass, re2_set

FLAGS = ("HS_FLAG_CASELESS", "HS_FLAG_MULTILINE")


def make_pass(fragments: list[str], once: set[str], store: Path | None = None) -> Pass | HyperscanPass:
    """The prefilter pass: Hyperscan when it is installed (and ``HUBGUARD_PREFILTER`` is not
    ``re2``), else RE2 automata (or ``re``, see ``triggers.compile_pass``). Compiled databases
    are kept in ``store`` (a directory) when given: the next scan loads them in milliseconds."""
    hyperscan = _hyperscan()
    if hyperscan is None:
        return Pass(fragments, once)
    return HyperscanPass(hyperscan, fragments, once, store)


class HyperscanPass:
    """``Pass`` on Hyperscan: the same ``matches`` for ``Detector._candidates``, from one
    database that reports each fragment at most once per scan call (which is all the pass and
    ``HyperscanTriggers`` need). Once a once-per-file rule has its finding, its fragments are
    passed over: each costs one report per call instead of a candidate per row."""

    def __init__(self, hyperscan, fragments: list[str], once: set[str], store: Path | None = None) -> None:
        self.hyperscan = hyperscan
        every = sorted(set(fragments) | set(once))
        self.database, rejected = _stored_database(hyperscan, every, store, hyperscan.HS_FLAG_SINGLEMATCH)
        refused = set(rejected)
        self.fragments = [fragment for fragment in every if fragment not in refused]
        self.once_ids = frozenset(i for i, fragment in enumerate(self.fragments) if fragment in once)
        self.fallback = Pass(sorted(refused - set(once)), refused & set(once)) if rejected else None
        self.scratch = hyperscan.Scratch(self.database) if self.database is not None else None

    def matches(self, data: bytes, once_done: list[bool]) -> Iterator[tuple[int, int]]:
        """(start, end) of matches in order, at most one per short line; the start is where the
        candidate window begins (Hyperscan gives ends only)."""
        ends = self._ends(data, once_done) if self.database is not None else iter(())
        if self.fallback is None:
            return ends
        return heapq.merge(ends, self.fallback.matches(data, once_done))

    def _ends(self, data: bytes, once_done: list[bool]) -> Iterator[tuple[int, int]]:
        view = memoryview(data)
        once_ids = self.once_ids

        def wanted(index: int) -> bool:
            return not (once_done[0] and index in once_ids)  # else that rule has its finding

        pos = 0
        while pos < len(data):
            report = _first_report(self.hyperscan, self.database, self.scratch, view[pos:], wanted)
            if report is None:
                return
            end = pos + report[1]  # the rest of this line is the candidate's anyway
            line_start = data.rfind(b"\n", 0, max(end - 1, 0)) + 1
            line_end = data.find(b"\n", max(end - 1, 0))
            line_end = len(data) if line_end < 0 else line_end
            if line_end - line_start > LONG_LINE:
                start = max(line_start, pos, end - LONG_LINE)  # it began at most this far back
                yield start, end
                pos = max(end, min(line_end, end + WINDOW))
            else:
                yield max(line_start, end - 1), end
                pos = line_end + 1


def make_window_pass(fragments: list[str], keywords: list[str], store: Path | None = None):
    """Where to look in a binary: the binary rules' own patterns on Hyperscan (a keyword such
    as ``asia`` or ``sg.`` turns up in most binaries; a key's shape rarely does), else their
    keywords on RE2 (or ``re``)."""
    hyperscan = _hyperscan()
    if hyperscan is not None and fragments:
        database, rejected = _stored_database(hyperscan, fragments, store, hyperscan.HS_FLAG_SOM_LEFTMOST)
        if database is not None and not rejected:
            return HyperscanWindows(hyperscan, database)
    return KeywordWindows(keywords)


class KeywordWindows:
    """(start, end) of each keyword in a binary, found by one RE2 (or ``re``) automaton."""

    def __init__(self, keywords: list[str]) -> None:
        self.automaton = compile_pass([re.escape(keyword) for keyword in keywords])

    def spans(self, data: bytes) -> Iterator[tuple[int, int]]:
        if self.automaton is not None:
            yield from (match.span() for match in self.automaton.finditer(data))


class HyperscanWindows:
    """(start, end) of each place in a binary where a binary rule's pattern begins to match:
    the scan stops at the first report and goes on from the byte after that match's start."""

    def __init__(self, hyperscan, database) -> None:
        self.hyperscan, self.database = hyperscan, database
        self.scratch = hyperscan.Scratch(database)

    def spans(self, data: bytes) -> Iterator[tuple[int, int]]:
        view = memoryview(data)
        pos = 0
        while pos < len(data):
            report = _first_report(self.hyperscan, self.database, self.scratch, view[pos:])
            if report is None:
                return
            yield pos + report[0], pos + report[1]
            pos += report[0] + 1


def _first_report(
    hyperscan, database, scratch, view: memoryview, wanted: Callable[[int], bool] = lambda _: True
) -> tuple[int, int] | None:
    """(start, end) in ``view`` of the first match reported for a ``wanted`` pattern id, the
    scan stopped right there; None when there is none. (The start is the match's leftmost
    start in a start-of-match database, else where the scan began.)"""
    found: list[int] = []

    def first(index: int, start: int, end: int, _flags: int, _context: object) -> bool:
        if not wanted(index):
            return False  # go on
        found[:] = [start, end]
        return True  # stop

    with contextlib.suppress(hyperscan.ScanTerminated):  # ``first`` stopped it
        database.scan(view, match_event_handler=first, scratch=scratch)
    return (found[0], found[1]) if found else None


def make_triggers(rules: tuple[TokenRule, ...], plugin_fragments: list[tuple[str, ...]], prefilter):
    """Which rules a candidate line wakes: one scan of the line on the pass's own Hyperscan
    database when there is one, else ``Triggers``' RE2 sets (eight calls per line)."""
    if isinstance(prefilter, HyperscanPass) and prefilter.database is not None:
        return HyperscanTriggers(prefilter, rules, plugin_fragments)
    return Triggers(rules, plugin_fragments)


class HyperscanTriggers(Triggers):
    """``Triggers`` on the pass's database; the few fragments it lacks (config-only rules',
    ones Hyperscan refused) are searched with one RE2 set (``re``, one by one, without RE2:
    ``re`` backtracks for seconds on a minified line)."""

    def __init__(self, prefilter: HyperscanPass, rules, plugin_fragments) -> None:
        self.prefilter = prefilter
        super().__init__(rules, plugin_fragments)

    def _compile(self) -> None:
        prefilter = self.prefilter
        self.sets = []
        self.database, self.hyperscan = prefilter.database, prefilter.hyperscan
        self.scratch = prefilter.hyperscan.Scratch(self.database)
        position = {fragment: index for index, fragment in enumerate(self.fragments)}
        self.ours = [position.get(fragment, -1) for fragment in prefilter.fragments]
        shared = set(prefilter.fragments)
        self.rest = [index for index, fragment in enumerate(self.fragments) if fragment not in shared]
        self.rest_set = re2_set([self.fragments[index] for index in self.rest]) if self.rest else None

    def matched(self, line: str) -> list[int]:
        found: list[int] = []
        text = line.encode("utf-8", "replace")
        self.database.scan(
            text, match_event_handler=lambda index, *_: found.append(self.ours[index]), scratch=self.scratch
        )
        if self.rest_set is not None:
            found += [self.rest[index] for index in self.rest_set.Match(text) or ()]
        elif self.rest:
            found += [index for index in self.rest if self.regexes[index].search(line)]
        return [index for index in found if index >= 0]


def _stored_database(hyperscan, fragments: list[str], store: Path | None, extra: int = 0):
    """``_database``, from ``store`` when it holds one for exactly these fragments (checked
    against its SHA-256: Hyperscan loads damaged bytes without complaint), else compiled and
    kept there. Only a database that took every fragment is kept, so a loaded one rejects none."""
    if store is None or not fragments:
        return _database(hyperscan, fragments, extra)
    flags = str(_flags(hyperscan) | extra)
    key = hashlib.sha256("\0".join([hyperscan.__version__, flags, *fragments]).encode())
    path = store / f"{key.hexdigest()}.hsdb"
    with contextlib.suppress(OSError, hyperscan.error):
        kept = path.read_bytes()
        digest, payload = kept[:32], kept[32:]
        if hashlib.sha256(payload).digest() == digest:
            database = hyperscan.loadb(payload, hyperscan.HS_MODE_BLOCK)
            hyperscan.Scratch(database)  # a database built for another CPU fails here, not mid-scan
            return database, []
    database, rejected = _database(hyperscan, fragments, extra)
    if database is not None and not rejected:
        payload = hyperscan.dumpb(database)
        write_entry(path, hashlib.sha256(payload).digest() + payload)
    return database, rejected


def _flags(hyperscan) -> int:
    flags = 0
    for name in FLAGS:
        flags |= getattr(hyperscan, name)
    return flags


def _database(hyperscan, fragments: list[str], extra: int = 0):
    """A Hyperscan database of ``fragments`` and the fragments it rejected (a construct it
    lacks, or too large): halves are tried until each rejected one is alone."""
    if not fragments:
        return None, []
    flags = _flags(hyperscan) | extra
    database = hyperscan.Database()
    try:
        database.compile(
            expressions=[fragment.encode() for fragment in fragments],
            ids=list(range(len(fragments))),
            flags=[flags] * len(fragments),
        )
    except hyperscan.error:
        if len(fragments) == 1:
            return None, fragments
        middle = len(fragments) // 2
        _, left = _database(hyperscan, fragments[:middle], extra)
        _, right = _database(hyperscan, fragments[middle:], extra)
        rejected = left + right
        refused = set(rejected)
        accepted = [fragment for fragment in fragments if fragment not in refused]
        return (_database(hyperscan, accepted, extra)[0] if accepted else None), rejected
    return database, []


def _hyperscan():
    if os.environ.get("HUBGUARD_PURE_PYTHON") or os.environ.get("HUBGUARD_PREFILTER") == "re2":
        return None
    try:
        import hyperscan
    except ImportError:
        return None
    return hyperscan
