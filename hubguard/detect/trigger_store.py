"""Derived triggers kept between runs. Deriving a rule's trigger asks RE2 whether it compiles,
which was 9 of the 13 ms the prefilter's fragments cost every start; the answers change only
with the rules, ``triggers.py`` and the RE2 installed, so those name the entry."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

from hubguard.detect import triggers
from hubguard.detect.rules import TokenRule
from hubguard.detect.stores import write_entry


def prime_derived_triggers(rules: tuple[TokenRule, ...], store: Path | None) -> None:
    """Fill ``triggers.DERIVED`` for the ``rules`` that derive a trigger (those without one of
    their own) from ``store``, else derive them now and keep them there. A missing, damaged or
    unwritable entry costs only the derivation."""
    if store is None:
        return
    rules = tuple(rule for rule in rules if not rule.trigger)
    keys = [(rule.regex.pattern, rule.keywords) for rule in rules]
    try:
        entry = store / f"triggers-{_fingerprint(keys)}.json"
    except OSError:  # no source to name the entry by: derived on first use, as without a store
        return
    kept = _whole_entry(entry, len(keys))
    if kept is not None:
        triggers.DERIVED.update(zip(keys, kept, strict=True))
        return
    derived = [triggers.derived_trigger(rule) for rule in rules]
    write_entry(entry, json.dumps({"sha256": _digest(derived), "triggers": derived}).encode())


def _whole_entry(entry: Path, count: int) -> list[str] | None:
    """The kept triggers, if the entry is whole: one string per rule, under their own digest (a
    trigger damaged in place would wake its rule on the wrong lines)."""
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
        kept = json.loads(entry.read_bytes())
        derived = kept["triggers"]
        if len(derived) == count and all(isinstance(one, str) for one in derived):
            return derived if kept["sha256"] == _digest(derived) else None
    return None


def _digest(derived: list[str]) -> str:
    return hashlib.sha256(json.dumps(derived).encode()).hexdigest()


def _fingerprint(keys: list[tuple[str, tuple[str, ...]]]) -> str:
    """What the derived triggers depend on: each rule's regex and keywords, the code that
    derives them, and which RE2 build answers (its module's size and time; none at all)."""
    hasher = hashlib.sha256(Path(triggers.__file__).read_bytes())
    try:
        import re2

        installed = os.stat(re2.__file__)
        hasher.update(f"re2 {installed.st_size} {installed.st_mtime_ns}".encode())
    except ImportError:
        hasher.update(b"no re2")
    for pattern, keywords in keys:
        hasher.update("\0".join([pattern, *keywords, "\n"]).encode())
    return hasher.hexdigest()
