"""The rule model asked per file (hubguard/detect/ruleset.py): which credential-file rules a
path's name and place make it, the same whether or not its name was asked before."""

from __future__ import annotations

from hubguard.detect.ruleset import FileRule, RuleSet
from hubguard.model import Severity


def rule(rule_id: str, **fields) -> FileRule:
    return FileRule(rule_id, rule_id, Severity.HIGH, **fields)


RULES = RuleSet(
    (),
    (
        rule("root-token", paths=("/id_token",)),
        rule("id-files", names=("id_*",)),
        rule("any-pem", names=("*.pem",), exclude=("ca.pem",)),
        rule("aws-dir", paths=(".aws/credentials",)),
        rule("json", names=("*.json",), paths=("secrets/**",)),
    ),
)


def named(path: str) -> list[str]:
    return [found.id for found in RULES.file_rules_named(path)]


def test_rules_by_name_and_by_place_asked_in_any_order():
    for _ in range(2):  # the second round is answered from the names kept by the first
        assert named("/id_token") == ["root-token", "id-files"]
        assert named("/home/user/id_token") == ["id-files"]  # the other is anchored at the root
        assert named("/etc/ssl/server.pem") == ["any-pem"]
        assert named("/etc/ssl/ca.pem") == []
        assert named("/root/.aws/credentials") == ["aws-dir"]
        assert named("/srv/credentials") == []
        assert named("/srv/secrets/ca.pem") == ["json"]  # its place, though not its name
        assert named("/srv/app/package.json") == ["json"]
