"""The shared vocabulary: severities, redaction, fingerprints and a report's counts."""

from __future__ import annotations

import pytest

from hubguard.model import Finding, ScanReport, Severity, fingerprint, hash_secret, redact


def test_severity_names_parse_in_any_case_and_spacing():
    assert Severity.parse(" High ") is Severity.HIGH
    assert [s.label for s in sorted(Severity)] == ["low", "medium", "high", "critical"]
    with pytest.raises(ValueError) as raised:
        Severity.parse("urgent")
    assert str(raised.value) == "unknown severity 'urgent' (choose from low, medium, high, critical)"


def test_redaction_shows_at_most_four_characters_and_a_quarter():
    assert redact("ghp_" + "a" * 36) == "ghp_…"
    assert redact("abcdefgh") == "ab…"
    assert redact("abc") == "…"


def test_the_hash_is_detect_secrets_sha1_even_for_undecodable_bytes():
    assert hash_secret("secret") == "e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4"
    assert len(hash_secret("\udcff")) == 40  # a surrogate-escaped byte from a binary file


def test_the_fingerprint_ties_rule_secret_and_path_only():
    base = fingerprint("rule", "ab" * 20, "/app/x")
    assert len(base) == 32
    assert base != fingerprint("other", "ab" * 20, "/app/x")
    assert base != fingerprint("rule", "cd" * 20, "/app/x")
    assert base != fingerprint("rule", "ab" * 20, "/app/y")
    moved = Finding("rule", "T", Severity.LOW, "layer", "/app/x", 99, "ab" * 20, "…")
    assert moved.fingerprint == base  # the line is not part of it
    assert (
        Finding(
            "rule", "T", Severity.LOW, "layer", "/app/x", 1, "ab" * 20, "…", fingerprint="given"
        ).fingerprint
        == "given"
    )


def test_counts_list_every_severity_worst_first():
    findings = [Finding("r", "T", severity, "layer", "/a", 1, "ab", "…") for severity in (Severity.HIGH,) * 2]
    report = ScanReport(findings=findings)
    assert report.counts() == {"critical": 0, "high": 2, "medium": 0, "low": 0}
    assert list(report.counts()) == ["critical", "high", "medium", "low"]
    assert report.complete
    assert not ScanReport(problems=["layer 1 truncated"]).complete
