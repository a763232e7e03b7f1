"""Gitleaks / Betterleaks configs as rule packs: a team's existing .gitleaks.toml keeps working.

The configs below use the keys real configs use: [extend] useDefault/path/disabledRules,
[[rules]] id/description/regex/secretGroup/entropy/keywords/path, per-rule [rules.allowlist]
and [[rules.allowlists]] (regexTarget, regexes, paths), and the global [allowlist] (paths,
regexes, stopwords). Findings come from the real detector, as a scan would report them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hubguard.cli import main
from hubguard.detect.engine import Detector
from hubguard.detect.gitleaks import python_regex
from hubguard.detect.rules import load_rules
from hubguard.errors import InputError
from hubguard.model import hash_secret
from tests.fakes import expand

CONFIG = """
title = "team gitleaks config"

[extend]
useDefault = true

[allowlist]
description = "global allow list"
paths = ['''(^|/)testdata/''']
regexes = ['''^acme_EXAMPLE''']
stopwords = ["notreallyasecret"]

[[rules]]
id = "acme-api-key"
description = "ACME API key"
regex = '''(?i)(acme[_-]?key)\\s*[:=]\\s*['"]?(acme_[A-Za-z0-9]{32})'''
secretGroup = 2
entropy = 3.0
keywords = ["acme"]
tags = ["key", "acme"]
[rules.allowlist]
regexes = ['''acme_0{32}''']

[[rules]]
id = "internal-service-token"
description = "Internal service token"
regex = '''\\b(itk-[A-Za-z0-9]{24})\\b'''
path = '''\\.(?:env|ya?ml)$'''
keywords = ["itk-"]
[[rules.allowlists]]
regexTarget = "line"
regexes = ['''#\\s*fake''']
[[rules.allowlists]]
paths = ['''(^|/)fixtures/''']

[[rules]]
id = "legacy-pin"
description = "Legacy PIN, no keywords"
regex = '''PIN\\[([0-9]{8})\\]'''
"""

ACME = expand("acme_{alnum:32}", seed="gitleaks")
ITK = expand("itk-{alnum:24}", seed="gitleaks")
GHP = expand("ghp_{alnum:36}", seed="gitleaks")


@pytest.fixture
def detector(tmp_path: Path) -> Detector:
    config = tmp_path / ".gitleaks.toml"
    config.write_text(CONFIG, encoding="utf-8")
    return Detector(load_rules([config]))


def found(detector: Detector, text: str, path: str = "app/config.env") -> dict[str, str]:
    return {hit.rule_id: hit.hashed_secret for hit in detector.scan_text(text.encode(), path)}


def test_rule_reports_its_secret_group(detector: Detector) -> None:
    hits = found(detector, f"ACME_KEY = '{ACME}'\n")
    assert hits["acme-api-key"] == hash_secret(ACME)


def test_entropy_floor_and_rule_allowlist(detector: Detector) -> None:
    assert "acme-api-key" not in found(detector, "acme_key: acme_" + "ab" * 16 + "\n")
    assert "acme-api-key" not in found(detector, "acme_key: acme_" + "0" * 32 + "\n")


def test_global_allowlist_paths_regexes_and_stopwords(detector: Detector) -> None:
    assert "acme-api-key" not in found(detector, f"ACME_KEY={ACME}\n", "repo/testdata/app.env")
    assert "acme-api-key" not in found(detector, "ACME_KEY=acme_EXAMPLE" + expand("{alnum:25}") + "\n")
    stopword = "acme_" + expand("{alnum:8}") + "notreallyasecret" + expand("{alnum:8}")
    assert "acme-api-key" not in found(detector, f"ACME_KEY={stopword}\n")


def test_rule_path_and_its_allowlists(detector: Detector) -> None:
    line = f"SERVICE_TOKEN={ITK}\n"
    assert found(detector, line, "app/prod.env")["internal-service-token"] == hash_secret(ITK)
    assert found(detector, line, "deploy/values.yaml")["internal-service-token"] == hash_secret(ITK)
    assert "internal-service-token" not in found(detector, line, "app/main.py")
    assert "internal-service-token" not in found(detector, f"SERVICE_TOKEN={ITK}  # fake\n", "app/x.env")
    assert "internal-service-token" not in found(detector, line, "app/fixtures/x.env")


def test_rule_without_keywords_runs_on_every_line(detector: Detector) -> None:
    assert "legacy-pin" in found(detector, "door PIN[" + expand("{digit:8}") + "]\n")


def test_builtin_rules_stay_on(detector: Detector) -> None:
    assert found(detector, f"GITHUB_TOKEN={GHP}\n")["github-pat-classic"] == hash_secret(GHP)


def test_extend_path_and_disabled_rules(tmp_path: Path) -> None:
    (tmp_path / "base.toml").write_text(CONFIG, encoding="utf-8")
    child = tmp_path / "child.toml"
    child.write_text(
        '[extend]\npath = "base.toml"\ndisabledRules = ["legacy-pin"]\n\n'
        '[[rules]]\nid = "acme-api-key"\ndescription = "ACME key (stricter)"\n'
        "regex = '''(acme_[A-Za-z0-9]{32})'''\nkeywords = [\"acme_\"]\n",
        encoding="utf-8",
    )
    rules = {rule.id: rule for rule in load_rules([child]).token_rules}
    assert "legacy-pin" not in rules and "internal-service-token" in rules
    assert rules["acme-api-key"].title == "ACME key (stricter)"


@pytest.mark.parametrize(
    ("config", "complaint"),
    [
        ("[[rules]]\nid = 'x'\nregex = '''(unclosed'''\n", "gitleaks.toml"),
        ("[[rules]]\nid = 'only-path'\npath = '''\\.pem$'''\n", "only a `path`"),
        ("[extend]\npath = 'missing.toml'\n", "missing.toml"),
    ],
)
def test_broken_config_is_one_input_error(tmp_path: Path, config: str, complaint: str) -> None:
    path = tmp_path / "gitleaks.toml"
    path.write_text(config, encoding="utf-8")
    with pytest.raises(InputError, match=re.escape(complaint)):
        load_rules([path])


def test_go_regex_syntax_is_translated() -> None:
    assert python_regex(r"key[[:alnum:]]{4}\z") == r"key[a-zA-Z0-9]{4}\Z"
    assert python_regex(r"token=(?i)abc") == "(?i)token=abc"
    assert re.search(python_regex(r"x(?i)ABC"), "xabc")


def test_pyproject_rules_and_cli_rules_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`[tool.hubguard] rules = [...]` and `--rules FILE` both bring the config's rules into play."""
    (tmp_path / ".gitleaks.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.hubguard]\nrules = [".gitleaks.toml"]\n', encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["rules"]) == 0
    assert "internal-service-token" in capsys.readouterr().out
    (tmp_path / "pyproject.toml").unlink()
    assert main(["rules"]) == 0
    assert "internal-service-token" not in capsys.readouterr().out
    assert main(["rules", "--rules", str(tmp_path / ".gitleaks.toml")]) == 0
    assert "internal-service-token" in capsys.readouterr().out
