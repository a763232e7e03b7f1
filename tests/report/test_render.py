"""Every format: no secret value in any of them, the registry, and the owner named in each."""

from __future__ import annotations

import json

import pytest

from hubguard.errors import InputError
from hubguard.report import FORMATS, render
from hubguard.report.sarif import to_sarif
from tests.report.samples import (
    ALL_SECRETS,
    RULES,
    owned_report,
    sample_report,
)


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
