from __future__ import annotations

import re

import pytest

from hubguard.detect.engine import Detector
from hubguard.detect.rules import load_rules
from hubguard.detect.triggers import Triggers, _ascii_superset, compile_pass, derived_trigger, fragments_of


@pytest.mark.parametrize(
    ("pattern", "superset"),
    [
        (r"a\w{0,3}+b", r"a(?:[A-Za-z0-9_]|[^\x00-\x7f]){0,3}b"),
        (r"[\w.-]+", r"(?:[A-Za-z0-9_.-]|[^\x00-\x7f])+"),
        (r"[^\s'\"]\b\d", r"[^\t\x0b-\r '\"](?:[0-9]|[^\x00-\x7f])"),
        (r"x++y*+z?+", r"x+y*z?"),
        (r"a*?b{2,3}?c", r"a*?b{2,3}?c"),
    ],
)
def test_shorthands_become_ascii_supersets_and_possessives_plain(pattern, superset):
    assert _ascii_superset(pattern) == superset


def test_a_negated_shorthand_inside_a_class_has_no_superset():
    assert _ascii_superset(r"[\S]x") is None


@pytest.mark.parametrize("text", ["grüßé_key = wert", "a_b: c", "key:\tvalue"])
def test_the_superset_matches_whatever_the_unicode_pattern_matches(text):
    pattern = r"\w+[\s:=]+\w+"
    assert re.search(pattern, text)
    assert re.search(_ascii_superset(pattern), text)


def test_rules_written_with_shorthand_classes_get_a_trigger():
    """Bare keywords wake every line that names a vendor; nearly every rule has a pattern."""
    rules = [rule for rule in load_rules().token_rules if rule.scope != "config"]
    keyword_only = [rule.id for rule in rules if not rule.trigger and not derived_trigger(rule)]
    assert len(keyword_only) < len(rules) // 10, keyword_only


@pytest.mark.parametrize("engine", ["hyperscan", "re2"])
def test_a_line_that_names_a_vendor_without_its_token_wakes_nothing(monkeypatch, engine):
    monkeypatch.setenv("HUBGUARD_PREFILTER", engine)
    rules = load_rules()
    detector = Detector(rules)
    near_rules = [rule for rule in rules.token_rules if "[^\\n]*" in rule.trigger]  # shape + near
    words = {word for rule in near_rules for word in rule.keywords}
    lines = [
        line for word in sorted(words) for line in (f'"{word}": "Passwort vergessen?",', f"{word}: Geheimnis")
    ]
    data = ("\n".join(lines) + "\n").encode()
    assert len(words) > 100
    candidates = [data[start:end].decode() for start, end, _ in detector._candidates(data, 1, [False])]
    keyword_only = {rule.id for rule in rules.token_rules if not rule.trigger and not derived_trigger(rule)}
    woken = {rule for line in candidates for rule in detector.triggers.woken(line)[0]}
    assert len(candidates) < len(lines) // 100
    assert woken <= keyword_only  # ``private_key`` and ``curl`` (in ``recurly``) stay bare keywords


def test_c_and_shell_source_wakes_nothing():
    """Macros, ``dd_``/``add_`` names and curl/mysql commands without credentials were a
    quarter of a real image's candidate lines; each costs Python time."""
    lines = [
        "#define MAX_TOKEN_LEN(x) ((x) + 1)",
        "#define add_secret_key(ctx, k) ctx_add(ctx, k)",
        "static int dd_add_key(struct dd *dd, const char *key);",
        "  odd_api_key_len = strlen(key);",
        "curl -fsSL https://example.org/install.sh | sh",
        "mysql --defaults-file=/etc/mysql/debian.cnf -e 'SELECT 1'",
    ]
    detector = Detector(load_rules())
    data = ("\n".join(lines) + "\n").encode()
    assert list(detector._candidates(data, 1, [False])) == []


def test_every_trigger_compiles_in_both_engines():
    """A pack's own trigger is checked when the pack loads; a shape's is made by shapes.py and
    only checked here."""
    re2 = pytest.importorskip("re2")
    triggers = [rule.trigger for rule in load_rules().token_rules if rule.trigger]
    assert len(triggers) > 300
    for trigger in triggers:
        re.compile(trigger.encode(), re.IGNORECASE)
        re2.compile(b"(?i)" + trigger.encode())


def test_every_fragment_of_the_pass_compiles_in_both_engines():
    """Derived triggers are checked with RE2 only when a scan starts; ``re`` is checked here."""
    re2 = pytest.importorskip("re2")
    fragments = {fragment for rule in load_rules().token_rules for fragment in fragments_of(rule)}
    assert len(fragments) > 400
    for fragment in fragments:
        re.compile(fragment.encode(), re.IGNORECASE | re.MULTILINE)
        re2.compile(b"(?im)" + fragment.encode())


def test_a_fragment_re_refuses_wakes_its_rules_on_every_line(monkeypatch):
    """Where ``re`` runs the pass (no RE2), a fragment only RE2 takes (``\\pN``) costs speed,
    never a miss: the pass makes every line a candidate and the plugin is woken on each."""
    monkeypatch.setenv("HUBGUARD_PURE_PYTHON", "1")
    automaton = compile_pass(["akia", "\\pN+"])
    assert automaton.search(b"no keyword here") is not None
    triggers = Triggers((), [("akia",), ("\\pN+",)])
    assert triggers.woken("no keyword here") == (set(), {1})
    assert triggers.woken("an akia key") == (set(), {0, 1})
