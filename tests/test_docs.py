"""The documentation says what the code does: links resolve, examples use real rule ids and
the report's real shape, and the changelog keeps its promised form."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from hubguard.detect.rules import load_rules
from hubguard.model import fingerprint
from hubguard.report.json_report import to_dict
from tests.report.samples import sample_report

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted([ROOT / "README.md", ROOT / "CHANGELOG.md", *(ROOT / "docs").glob("*.md")])
CHANGELOG_SECTIONS = {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}

pytestmark = pytest.mark.repo_files


def rule_ids() -> set[str]:
    rules = load_rules([])
    return {rule.id for rule in (*rules.token_rules, *rules.file_rules, *rules.plugins)}


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: path.name)
def test_relative_links_resolve(doc: Path):
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text()):
        if "://" in target:
            continue
        assert (doc.parent / target).exists(), f"{doc.name} links to missing {target}"


def test_report_format_example_is_a_real_report_shape():
    text = (ROOT / "docs" / "report-format.md").read_text()
    example = json.loads(text.split("## Example\n\n```json\n", 1)[1].split("```", 1)[0])
    real = to_dict(sample_report())
    assert set(example) == set(real)
    assert list(example["summary"]) == list(real["summary"])
    assert set(example["findings"][0]) == set(real["findings"][0])
    for finding in example["findings"]:
        assert finding["rule_id"] in rule_ids()
        assert finding["fingerprint"] == fingerprint(
            finding["rule_id"], finding["hashed_secret"], finding["path"]
        )
    # every summary field is documented in the Summary table
    for field in real["summary"]:
        assert f"| `{field}`" in text, field


def test_suppressions_doc_uses_real_rule_ids():
    text = (ROOT / "docs" / "suppressions.md").read_text()
    entries = re.findall(r"^rule:([a-z0-9.-]+)", text, flags=re.M)
    assert entries and set(entries) <= rule_ids()


def test_changelog_keeps_a_changelog_form():
    text = (ROOT / "CHANGELOG.md").read_text()
    assert text.startswith("# Changelog\n")
    assert "[Keep a Changelog](https://keepachangelog.com/" in text
    releases = re.findall(r"^## \[([^\]]+)\]", text, flags=re.M)
    assert releases[0] == "Unreleased"
    assert set(re.findall(r"^### (.+)$", text, flags=re.M)) <= CHANGELOG_SECTIONS
    for release in releases:
        assert re.search(rf"^\[{re.escape(release)}\]: \S+", text, flags=re.M), f"no link for [{release}]"
