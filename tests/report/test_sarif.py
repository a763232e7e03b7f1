"""SARIF: valid against the official schema, and what GitHub code scanning reads."""

from __future__ import annotations

import dataclasses
import json
import re

from hubguard import __version__
from hubguard.model import ScanReport, hash_secret
from hubguard.report import render
from hubguard.report.sarif import to_sarif
from tests.report.samples import (
    COPY_ENV,
    GITHUB_TOKEN,
    REMOVE_ENV,
    RULES,
    noted_report,
    sample_report,
    sarif_validator,
)


def test_sarif_validates_against_the_official_schema() -> None:
    validator = sarif_validator()
    for report in (sample_report(("layer sha256:ab: truncated",)), ScanReport()):
        document = json.loads(render(report, "sarif", rules=RULES))
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
        assert errors == []


def test_sarif_schema_check_rejects_a_broken_result() -> None:
    document = to_sarif(sample_report(), RULES)
    del document["runs"][0]["results"][0]["message"]
    document["runs"][0]["results"][1]["level"] = "critical"
    assert len(list(sarif_validator().iter_errors(document))) == 2


def test_sarif_rules_carry_what_github_code_scanning_reads() -> None:
    run = to_sarif(sample_report(), RULES)["runs"][0]
    assert run["tool"]["driver"]["name"] == "hubguard"
    assert run["tool"]["driver"]["version"] == __version__
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert set(rules) == {"github-pat", "slack-bot-token", "detect-secrets.KeywordDetector", "aws-access-key"}
    pat = rules["github-pat"]
    assert pat["name"] == "GithubPat"
    assert pat["shortDescription"]["text"] == "GitHub personal access token"
    assert pat["fullDescription"]["text"] == RULES["github-pat"].description
    assert RULES["github-pat"].description in pat["help"]["text"]
    assert pat["help"]["markdown"].startswith("**GitHub personal access token**")
    assert pat["defaultConfiguration"]["level"] == "error"
    assert pat["properties"] == {"security-severity": "9.5", "tags": ["security", "secret"]}
    # Rule severity (high) from the pack, not the finding (low).
    assert rules["aws-access-key"]["properties"]["security-severity"] == "8.0"
    assert rules["aws-access-key"]["defaultConfiguration"]["level"] == "error"


def test_sarif_help_uri_is_the_rule_format_reference() -> None:
    """A rule citing its vendor's documented format links it; a rule without one has no helpUri."""
    cited = dataclasses.replace(RULES["github-pat"], reference="https://docs.github.com/en/authentication")
    run = to_sarif(sample_report(), {**RULES, "github-pat": cited})["runs"][0]
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert rules["github-pat"]["helpUri"] == "https://docs.github.com/en/authentication"
    assert "helpUri" not in rules["aws-access-key"]


def test_sarif_rules_unknown_to_the_packs_fall_back_to_the_finding() -> None:
    run = to_sarif(sample_report(), RULES)["runs"][0]
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    keyword = rules["detect-secrets.KeywordDetector"]
    assert keyword["shortDescription"]["text"] == "Secret Keyword"
    assert keyword["fullDescription"]["text"] == "Secret Keyword"
    assert keyword["properties"]["security-severity"] == "5.5"
    assert keyword["defaultConfiguration"]["level"] == "warning"
    assert rules["slack-bot-token"]["properties"]["security-severity"] == "8.0"


def test_sarif_results_point_at_their_rule_and_place() -> None:
    run = to_sarif(sample_report(), RULES)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    by_rule = {result["ruleId"]: result for result in run["results"]}
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    assert [r["level"] for r in run["results"]] == ["error", "error", "warning", "note"]

    def location(rule_id: str) -> dict:
        return by_rule[rule_id]["locations"][0]["physicalLocation"]

    assert location("github-pat") == {"artifactLocation": {"uri": "app/.env"}, "region": {"startLine": 3}}
    assert location("detect-secrets.KeywordDetector") == {"artifactLocation": {"uri": "Config.Env"}}
    assert location("slack-bot-token")["artifactLocation"]["uri"] == "history%5B2%5D"
    assert location("aws-access-key")["artifactLocation"]["uri"] == "deploy/prod%2Ceu%3A1.env"
    for result in run["results"]:
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert re.fullmatch(r"[A-Za-z0-9\-._~%!$&'()*+;=@][A-Za-z0-9\-._~%!$&'()*+;=@/]*", uri)


def test_sarif_result_message_fingerprint_and_properties() -> None:
    run = to_sarif(sample_report(), RULES)["runs"][0]
    result = run["results"][0]
    text = result["message"]["text"]
    assert "GitHub personal access token" in text
    assert "/app/.env:3 in layer 1" in text
    assert f"deleted by layer 2 {REMOVE_ENV.digest[:19]}" in text
    assert "ghp_…" in text
    fingerprint = sample_report().findings[1].fingerprint
    assert result["partialFingerprints"] == {"hubguardFingerprint/v1": fingerprint}
    assert result["properties"]["severity"] == "critical"
    assert result["properties"]["source"] == "layer"
    assert result["properties"]["state"] == "deleted"
    assert result["properties"]["layer_digest"] == COPY_ENV.digest
    assert result["properties"]["created_by"] == COPY_ENV.created_by
    assert result["properties"]["hashed_secret"] == hash_secret(GITHUB_TOKEN)


def test_sarif_reports_an_incomplete_scan_as_failed_execution() -> None:
    complete = to_sarif(sample_report(), RULES)["runs"][0]["invocations"][0]
    assert complete == {"executionSuccessful": True, "toolExecutionNotifications": []}
    run = to_sarif(sample_report(("layer sha256:ab: truncated",)), RULES)["runs"][0]
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert invocation["toolExecutionNotifications"] == [
        {"level": "error", "message": {"text": "scan incomplete: layer sha256:ab: truncated"}}
    ]


def test_sarif_lists_notes_without_failing_the_run() -> None:
    run = to_sarif(noted_report(), RULES)["runs"][0]
    assert run["invocations"][0] == {
        "executionSuccessful": True,
        "toolExecutionNotifications": [
            {"level": "note", "message": {"text": f"not scanned: {noted_report().notes[0]}"}}
        ],
    }
    assert run["results"][0]["properties"]["third_party"] is True
