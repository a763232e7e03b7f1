"""The JSON report (docs/report-format.md): its documented shape, order and summary."""

from __future__ import annotations

import json
import re

from hubguard import __version__
from hubguard.model import ScanReport, Target, hash_secret
from hubguard.report import render
from hubguard.report.json_report import to_dict
from tests.report.samples import (
    COPY_ENV,
    GITHUB_TOKEN,
    IMAGE,
    REMOVE_ENV,
    noted_report,
    sample_report,
)

FINDING_FIELDS = {
    "rule_id",
    "title",
    "severity",
    "source",
    "path",
    "line",
    "layer",
    "state",
    "hidden_by",
    "hashed_secret",
    "redacted",
    "fingerprint",
    "target",
    "third_party",
    "owner",
    "more",
}


def test_json_report_has_the_documented_shape() -> None:
    data = json.loads(render(sample_report(), "json"))
    assert list(data) == ["schema", "tool", "targets", "findings", "summary"]
    assert data["schema"] == "hubguard/report/v1"
    assert data["tool"] == {"name": "hubguard", "version": __version__}
    assert [t["name"] for t in data["targets"]] == [IMAGE, "."]
    assert set(data["targets"][0]) == {"kind", "name", "image_id", "platform", "layers"}
    assert data["targets"][0]["layers"][1] == {
        "index": 1,
        "digest": COPY_ENV.digest,
        "created_by": COPY_ENV.created_by,
    }
    for entry in data["findings"]:
        assert set(entry) == FINDING_FIELDS
    assert list(data["summary"]) == [
        "findings",
        "by_severity",
        "suppressed",
        "complete",
        "problems",
        "notes",
        "third_party_skipped",
        "by_owner",
        "owner_quieted",
        "suppressed_by",
        "capped",
    ]


def test_json_finding_fields_hold_hash_preview_and_layers() -> None:
    data = json.loads(render(sample_report(), "json"))
    leaked = data["findings"][0]
    assert leaked["rule_id"] == "github-pat"
    assert leaked["severity"] == "critical"
    assert leaked["source"] == "layer"
    assert leaked["path"] == "/app/.env"
    assert leaked["line"] == 3
    assert leaked["state"] == "deleted"
    assert leaked["layer"] == {"index": 1, "digest": COPY_ENV.digest, "created_by": COPY_ENV.created_by}
    assert leaked["hidden_by"]["digest"] == REMOVE_ENV.digest
    assert leaked["hashed_secret"] == hash_secret(GITHUB_TOKEN)
    assert re.fullmatch(r"[0-9a-f]{40}", leaked["hashed_secret"])
    assert leaked["redacted"] == "ghp_…"
    assert re.fullmatch(r"[0-9a-f]{32}", leaked["fingerprint"])
    assert leaked["target"] == IMAGE
    assert leaked["third_party"] is False
    config = next(f for f in data["findings"] if f["source"] == "config")
    assert config["line"] is None and config["layer"] is None and config["hidden_by"] is None


def test_json_findings_are_worst_first_and_summary_counts_them() -> None:
    report = sample_report(("layer sha256:ab: unexpected end of gzip stream",))
    data = to_dict(report)
    assert [f["severity"] for f in data["findings"]] == ["critical", "high", "medium", "low"]
    assert data["summary"] == {
        "findings": 4,
        "by_severity": {"critical": 1, "high": 1, "medium": 1, "low": 1},
        "suppressed": 2,
        "complete": False,
        "problems": ["layer sha256:ab: unexpected end of gzip stream"],
        "notes": [],
        "third_party_skipped": 0,
        "by_owner": {"own": 0, "distro": 0, "package": 0, "base": 0},
        "owner_quieted": 0,
        "suppressed_by": {},
        "capped": 0,
    }


def test_json_output_is_stable_across_input_order() -> None:
    report = sample_report()
    shuffled = ScanReport(report.targets, list(reversed(report.findings)), suppressed=2)
    assert render(report, "json") == render(shuffled, "json")


def test_json_reports_third_party_findings_skips_and_notes() -> None:
    data = json.loads(render(noted_report(), "json"))
    assert data["findings"][0]["third_party"] is True
    assert data["summary"]["notes"] == noted_report().notes
    assert data["summary"]["third_party_skipped"] == 41
    assert data["summary"]["complete"] is True


def test_json_of_a_clean_scan_is_complete() -> None:
    data = json.loads(render(ScanReport([Target("context", ".")]), "json"))
    assert data["findings"] == []
    assert data["summary"]["complete"] is True
    assert data["summary"]["problems"] == []
    assert data["summary"]["by_severity"] == {"critical": 0, "high": 0, "medium": 0, "low": 0}
