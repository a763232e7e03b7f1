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


def test_merging_reports_adds_every_list_and_count():
    first = ScanReport(
        findings=[Finding("r", "T", Severity.LOW, "layer", "/a", 1, "ab", "…")],
        problems=["p1"],
        notes=["n1"],
        suppressed=2,
        suppressed_by={".hubguardignore": 1},
        third_party_skipped=3,
        owner_quieted=4,
    )
    second = ScanReport(
        findings=[Finding("r", "T", Severity.HIGH, "layer", "/b", 1, "cd", "…")],
        problems=["p2"],
        notes=["n2"],
        suppressed=5,
        suppressed_by={".hubguardignore": 2, ".secrets.baseline": 3},
        third_party_skipped=6,
        owner_quieted=7,
    )
    first.merge(second)
    assert [f.path for f in first.findings] == ["/a", "/b"]
    assert (first.problems, first.notes) == (["p1", "p2"], ["n1", "n2"])
    assert (first.suppressed, first.third_party_skipped, first.owner_quieted) == (7, 9, 11)
    assert first.suppressed_by == {".hubguardignore": 3, ".secrets.baseline": 3}


def test_the_gate_counts_findings_at_or_above_the_threshold_that_are_not_third_party():
    own_high = Finding("r", "T", Severity.HIGH, "layer", "/a", 1, "ab", "…")
    own_medium = Finding("r", "T", Severity.MEDIUM, "layer", "/b", 1, "ab", "…")
    vendored_critical = Finding("r", "T", Severity.CRITICAL, "layer", "/c", 1, "ab", "…", third_party=True)
    report = ScanReport(findings=[own_high, own_medium, vendored_critical])
    assert report.blocking(Severity.HIGH) == [own_high]
    assert report.blocking(Severity.MEDIUM) == [own_high, own_medium]
    assert report.blocking(Severity.CRITICAL) == []
