from __future__ import annotations

import pytest

from hubguard.detect import hyperscan_pass
from hubguard.detect.engine import Detector
from hubguard.detect.rules import load_rules
from hubguard.model import hash_secret

pytest.importorskip("hyperscan")


@pytest.fixture
def text(fake_token) -> tuple[bytes, set[str]]:
    tokens = [fake_token("ghp_{alnum:36}"), fake_token("glpat-{alnum:20}")]
    data = f"# a = 1\nurl = x\nGITHUB = {tokens[0]}\nnothing here\nGITLAB = {tokens[1]}\n".encode()
    return data, {hash_secret(token) for token in tokens}


def found(detector: Detector, data: bytes) -> set[str]:
    return {hit.hashed_secret for hit in detector.scan_text(data, "/app/env")}


def test_the_store_keeps_the_compiled_pass_for_the_next_scan(tmp_path, monkeypatch, text):
    data, secrets = text
    rules = load_rules()
    first = Detector(rules, store=tmp_path)
    assert type(first.prefilter).__name__ == "HyperscanPass"
    assert len(list(tmp_path.glob("*.hsdb"))) == 2  # the pass (and triggers), binary windows

    def no_compile(*args, **kwargs):
        raise AssertionError("compiled again")

    monkeypatch.setattr(hyperscan_pass, "_database", no_compile)
    second = Detector(rules, store=tmp_path)
    assert found(second, data) == found(first, data) == secrets


def test_a_damaged_store_is_compiled_again(tmp_path, monkeypatch, text):
    data, secrets = text
    rules = load_rules()
    Detector(rules, store=tmp_path)
    for kept in tmp_path.glob("*.hsdb"):
        damaged = bytearray(kept.read_bytes())
        damaged[len(damaged) // 2] ^= 0xFF
        kept.write_bytes(bytes(damaged))
    compiled = []
    real = hyperscan_pass._database
    monkeypatch.setattr(hyperscan_pass, "_database", lambda *a: compiled.append(1) or real(*a))
    detector = Detector(rules, store=tmp_path)
    assert len(compiled) == 2
    assert found(detector, data) == secrets


def test_without_a_store_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Detector(load_rules())
    assert list(tmp_path.iterdir()) == []


def test_tokens_far_apart_in_one_minified_line_are_each_found(fake_token):
    tokens = [fake_token("ghp_{alnum:36}") for _ in range(3)]
    filler = "a=b;" * 30_000
    data = f"{filler}k='{tokens[0]}';{filler}m='{tokens[1]}';n='{tokens[2]}';{filler}".encode()
    detector = Detector(load_rules())
    assert found(detector, data) == {hash_secret(token) for token in tokens}


def test_a_fragment_hyperscan_rejects_stays_with_the_fallback():
    accepted = "ghp_[A-Za-z0-9]{36}"
    rejected = "(?<=x)secret_thing"  # a lookbehind: Hyperscan has none; the fallback (re) has
    hyperscan = hyperscan_pass._hyperscan()
    database, refused = hyperscan_pass._database(hyperscan, [accepted, r"token=\d", rejected])
    assert database is not None
    assert refused == [rejected]
    both = hyperscan_pass.HyperscanPass(hyperscan, [accepted, rejected], set())
    assert both.fallback is not None
    assert [start for start, _ in both.matches(b"a\nxsecret_thing\n", [False])] == [3]


def test_binary_windows_open_where_a_key_begins_not_at_every_keyword(fake_token):
    """``asia``, ``sg.``, ``hf_`` turn up all over binaries; a window costs Python time each."""
    detector = Detector(load_rules())
    noise = bytes(range(256)) * 4 + b"ASIA sg. hf_ npm_ a3t xoxb " * 500
    token = fake_token("ghp_{alnum:36}")
    data = noise + b"\x00" + token.encode() + b"\x00" + noise
    assert len(list(detector.binary_prefilter.spans(data))) == 1
    hits = detector.scan_binary(data, "/usr/bin/tool")
    assert {hit.hashed_secret for hit in hits} == {hash_secret(token)}


def test_hyperscan_and_re2_wake_the_same_rules_on_every_example(monkeypatch):
    from tests.fakes import expand

    rules = load_rules()
    hyperscan = Detector(rules).triggers
    monkeypatch.setenv("HUBGUARD_PREFILTER", "re2")
    re2 = Detector(rules).triggers
    assert type(hyperscan).__name__ == "HyperscanTriggers"
    assert type(re2).__name__ == "Triggers"
    examples = [t for rule in rules.token_rules for t in (*rule.examples.positive, *rule.examples.negative)]
    lines = [expand(template, seed="woken") for template in examples]
    assert len(lines) > 1000
    for line in lines:
        assert hyperscan.woken(line) == re2.woken(line), line
