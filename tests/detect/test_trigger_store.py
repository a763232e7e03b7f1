"""Derived triggers kept between runs (hubguard/detect/trigger_store.py): read back, they are
exactly what each rule derives; anything that could change them names a new entry; a damaged
or unwritable store costs only the derivation."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from hubguard.detect import triggers
from hubguard.detect.rules import TokenRule, load_rules
from hubguard.detect.trigger_store import prime_derived_triggers

ACME_PACK = """
[[rule]]
id = "acme-key"
title = "ACME key"
severity = "high"
regex = '''(?<![A-Za-z0-9])acme_key[=:]\\s*(?P<secret>[a-z0-9]{32})'''
keywords = ["acme_key"]
"""


def derived_afresh(rules: tuple[TokenRule, ...]) -> dict[str, str]:
    """What each rule without a trigger of its own derives, with nothing kept."""
    triggers.DERIVED.clear()
    return {rule.id: triggers.derived_trigger(rule) for rule in rules if not rule.trigger}


def now_derived(rules: tuple[TokenRule, ...]) -> dict[str, str]:
    return {rule.id: triggers.derived_trigger(rule) for rule in rules if not rule.trigger}


def refuse_to_derive(monkeypatch: pytest.MonkeyPatch) -> None:
    def derive(*_: object) -> str:
        raise AssertionError("derived although the store holds it")

    monkeypatch.setattr(triggers, "_derived", derive)


def test_kept_triggers_are_the_derived_ones_and_the_next_start_derives_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = load_rules().token_rules
    fresh = derived_afresh(rules)
    assert sum(bool(trigger) for trigger in fresh.values()) >= 10  # the built-in packs derive some
    triggers.DERIVED.clear()
    prime_derived_triggers(rules, tmp_path)
    assert len(list(tmp_path.glob("triggers-*.json"))) == 1
    triggers.DERIVED.clear()
    with monkeypatch.context() as patched:
        refuse_to_derive(patched)
        prime_derived_triggers(rules, tmp_path)
        assert now_derived(rules) == fresh


def entry_text(kept: list) -> str:
    """An entry as prime_derived_triggers writes one, digest and all."""
    return json.dumps({"sha256": hashlib.sha256(json.dumps(kept).encode()).hexdigest(), "triggers": kept})


def one_trigger_changed(text: str) -> str:
    """The entry with one trigger edited in place, its digest left as it was."""
    kept = json.loads(text)
    kept["triggers"][next(i for i, one in enumerate(kept["triggers"]) if one)] = "x"
    return json.dumps(kept)


DAMAGES = {
    "not json": lambda text, count: "\x00{not json",
    "a trigger changed": lambda text, count: one_trigger_changed(text),
    "too short": lambda text, count: entry_text(["x"] * (count - 1)),
    "not strings": lambda text, count: entry_text([1] * count),
    "no digest": lambda text, count: json.dumps({"triggers": json.loads(text)["triggers"]}),
    "a list": lambda text, count: json.dumps(json.loads(text)["triggers"]),
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_entry_is_derived_again_and_replaced(tmp_path: Path, damage: str) -> None:
    rules = load_rules().token_rules
    fresh = derived_afresh(rules)
    prime_derived_triggers(rules, tmp_path)
    (entry,) = tmp_path.glob("triggers-*.json")
    entry.write_text(DAMAGES[damage](entry.read_text(encoding="utf-8"), len(fresh)), encoding="utf-8")
    triggers.DERIVED.clear()
    prime_derived_triggers(rules, tmp_path)
    assert now_derived(rules) == fresh
    assert entry.read_text(encoding="utf-8") == entry_text(
        [fresh[rule.id] for rule in rules if not rule.trigger]
    )


def test_an_edited_rule_or_new_code_is_a_new_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pack_dir, store = tmp_path / "rules", tmp_path / "store"
    pack_dir.mkdir()
    (pack_dir / "acme.toml").write_text(ACME_PACK, encoding="utf-8")
    prime_derived_triggers(load_rules([pack_dir]).token_rules, store)
    (pack_dir / "acme.toml").write_text(ACME_PACK.replace("acme_key", "acme_token"), encoding="utf-8")
    edited = load_rules([pack_dir]).token_rules
    fresh = derived_afresh(edited)
    assert "acme_token" in fresh["acme-key"]
    triggers.DERIVED.clear()
    prime_derived_triggers(edited, store)
    assert now_derived(edited) == fresh
    assert len(list(store.glob("triggers-*.json"))) == 2
    changed_code = tmp_path / "triggers.py"
    changed_code.write_text(Path(triggers.__file__).read_text(encoding="utf-8") + "\n# changed\n")
    monkeypatch.setattr(triggers, "__file__", str(changed_code))
    prime_derived_triggers(edited, store)
    assert len(list(store.glob("triggers-*.json"))) == 3


def test_an_unwritable_store_costs_only_the_derivation(tmp_path: Path) -> None:
    rules = load_rules().token_rules
    fresh = derived_afresh(rules)
    in_the_way = tmp_path / "file"
    in_the_way.write_text("")
    triggers.DERIVED.clear()
    prime_derived_triggers(rules, in_the_way / "store")
    assert now_derived(rules) == fresh
