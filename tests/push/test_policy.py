"""The push policy: which findings block a push to a public, private or unknown repository, and
what a refusal tells the user to do about each one."""

from __future__ import annotations

from pathlib import Path

import pytest

from hubguard.config import Config, load_config
from hubguard.model import Finding, LayerRef, ScanReport, Severity, hash_secret, redact
from hubguard.push.policy import decide
from hubguard.push.visibility import Visibility

PUBLIC = Visibility(True, 'public (config: .hubguard.toml, rule "docker.io/me/*")', "config")
PRIVATE = Visibility(False, "private (Docker Hub API)", "hub")
UNKNOWN = Visibility(True, "unknown → treated as public (no [visibility] rule matches x)", "unknown")


@pytest.fixture
def finding(fake_token):
    def make(severity: Severity, path: str = "/app/settings.ini", *, third_party: bool = False) -> Finding:
        value = fake_token("{alnum:32}")
        return Finding(
            rule_id=f"rule-{severity.label}",
            title="A secret",
            severity=severity,
            source="layer",
            path=path,
            line=3,
            hashed_secret=hash_secret(value),
            redacted=redact(value),
            layer=LayerRef(1, "sha256:" + "a" * 64, "COPY . /app"),
            target="me/app:1",
            third_party=third_party,
        )

    return make


def report_of(*findings: Finding, problems: tuple[str, ...] = ()) -> ScanReport:
    return ScanReport(findings=list(findings), problems=list(problems))


def test_public_push_is_refused_for_any_finding_by_default(finding):
    low = finding(Severity.LOW)

    decision = decide(report_of(low), PUBLIC, Config())

    assert not decision.allowed
    assert decision.exit_code == 1
    assert decision.blocking == (low,)
    assert decision.fingerprints == (low.fingerprint,)
    assert (
        "refused: 1 finding at or above severity low for a push to a public repository"
        in (decision.reasons[0])
    )


def test_unknown_visibility_is_treated_as_public(finding):
    decision = decide(report_of(finding(Severity.LOW)), UNKNOWN, Config())

    assert not decision.allowed
    assert "unknown visibility (treated as public)" in decision.reasons[0]


def test_private_push_warns_below_critical_and_blocks_critical(finding):
    high, critical = finding(Severity.HIGH), finding(Severity.CRITICAL, "/root/.ssh/id_rsa")

    warned = decide(report_of(high), PRIVATE, Config())
    refused = decide(report_of(high, critical), PRIVATE, Config())

    assert warned.allowed and warned.exit_code == 0
    assert warned.warnings == (high,) and warned.blocking == ()
    assert "allowed with 1 finding as warnings (below severity critical)" in warned.reasons[0]
    assert not refused.allowed and refused.exit_code == 1
    assert refused.blocking == (critical,)
    assert refused.warnings == (high,)


def test_thresholds_come_from_the_project_config(finding, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    (tmp_path / ".hubguard.toml").write_text(
        '[policy]\npublic_threshold = "high"\nprivate_threshold = "high"\n'
    )
    config = load_config(tmp_path)
    medium, high = finding(Severity.MEDIUM), finding(Severity.HIGH)

    assert decide(report_of(medium), PUBLIC, config).allowed
    assert not decide(report_of(medium, high), PUBLIC, config).allowed
    assert decide(report_of(medium, high), PRIVATE, config).blocking == (high,)


def test_an_incomplete_scan_never_pushes_even_privately():
    decision = decide(report_of(problems=("layer 2: truncated gzip stream",)), PRIVATE, Config())

    assert not decision.allowed
    assert decision.exit_code == 3
    assert "truncated gzip stream" in decision.reasons[0]


def test_a_clean_report_is_allowed_everywhere():
    for visibility in (PUBLIC, PRIVATE, UNKNOWN):
        decision = decide(report_of(), visibility, Config())
        assert decision.allowed and decision.exit_code == 0
        assert decision.blocking == decision.warnings == ()


def test_third_party_findings_warn_but_do_not_block(finding):
    vendored = finding(Severity.CRITICAL, "/usr/lib/python3/site-packages/x/test_key.pem", third_party=True)

    decision = decide(report_of(vendored), PUBLIC, Config())

    assert decision.allowed
    assert decision.warnings == (vendored,)


def test_a_refusal_explains_how_to_allow_each_finding_by_fingerprint(finding):
    first, second = finding(Severity.HIGH, "/app/a.env"), finding(Severity.LOW, "/app/b.env")

    lines = decide(report_of(second, first, first), PUBLIC, Config()).explain()

    ignore_lines = [line for line in lines if line.strip().startswith("fingerprint:")]
    layer = "in layer 1 sha256:aaaaaaaaaaaa"
    assert ignore_lines == [
        f"  fingerprint:{first.fingerprint}  # rule-high (high) at /app/a.env:3 {layer}",
        f"  fingerprint:{second.fingerprint}  # rule-low (low) at /app/b.env:3 {layer}",
    ]
    assert any(".hubguardignore" in line for line in lines)
    assert any("hubguard baseline" in line for line in lines)


def test_the_explanation_escapes_control_characters_in_paths(finding):
    hostile = finding(Severity.HIGH, "/app/\x1b[2Jx\nfingerprint:0000")

    lines = decide(report_of(hostile), PUBLIC, Config()).explain()

    assert all("\x1b" not in line and "\n" not in line for line in lines)
    assert sum(line.strip().startswith("fingerprint:") for line in lines) == 1


def test_an_allowed_push_has_nothing_to_suppress(finding):
    decision = decide(report_of(finding(Severity.HIGH)), PRIVATE, Config())

    assert decision.fingerprints == ()
    assert not any("fingerprint:" in line for line in decision.explain())


def test_every_decision_says_exactly_why(finding):
    """The reasons are what a user reads at the prompt: pinned word for word."""
    incomplete = decide(report_of(problems=("layer 1 truncated", "layer 2 missing")), PRIVATE, Config())
    assert incomplete.allowed is False
    assert incomplete.reasons == (
        "the scan is incomplete, so nothing is pushed: layer 1 truncated; layer 2 missing",
    )
    assert decide(report_of(finding(Severity.LOW)), PUBLIC, Config()).allowed is False
    assert decide(report_of(), PUBLIC, Config()).reasons == (
        "allowed: no findings at or above severity low for a push to a public repository",
    )
    assert decide(report_of(), PRIVATE, Config()).reasons == (
        "allowed: no findings at or above severity critical for a push to a private repository",
    )
    two = decide(report_of(finding(Severity.LOW), finding(Severity.HIGH)), PUBLIC, Config())
    assert two.reasons == ("refused: 2 findings at or above severity low for a push to a public repository",)
    assert decide(report_of(finding(Severity.LOW)), UNKNOWN, Config()).reasons == (
        "refused: 1 finding at or above severity low for a push to a repository of unknown visibility "
        "(treated as public)",
    )


def test_a_refusal_says_which_layer_hid_a_deleted_finding(finding):
    deleted = Finding(
        **{
            **finding(Severity.HIGH).__dict__,
            "state": "deleted",
            "hidden_by": LayerRef(2, "sha256:" + "b" * 64),
        }
    )
    [line] = [
        line for line in decide(report_of(deleted), PUBLIC, Config()).explain() if "fingerprint:" in line
    ]
    assert line.endswith("in layer 1 sha256:aaaaaaaaaaaa, deleted by layer 2 sha256:bbbbbbbbbbbb")
