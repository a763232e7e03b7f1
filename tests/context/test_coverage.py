""".dockerignore coverage: the line to add for each sensitive file sent, the missing ignore file,
lines that match nothing, and ``--fix`` (hubguard/context/coverage.py). One test builds with the
real engine to prove that a context hubguard passes after ``--fix`` really keeps the file out of
the image.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hubguard.context import (
    COVERAGE_RULE,
    MISSING_RULE,
    UNUSED_RULE,
    ContextScanner,
    exact_pattern,
    unused_patterns,
)
from hubguard.dockerignore.matcher import DockerIgnore
from hubguard.sources.context import walk_context
from tests.context.helpers import DOCKERFILE, FakeToken, by_rule, hubguard, scan_json, write_tree
from tests.dockerignore.test_differential import engine_copy
from tests.sources.test_context import make_tree


def test_a_sent_credential_file_gets_the_ignore_line_to_add(tmp_path: Path, dotenv: str):
    write_tree(tmp_path, {"Dockerfile": DOCKERFILE, ".dockerignore": ".git\nnode_modules\n", ".env": dotenv})
    code, report, _ = scan_json(tmp_path)
    assert code == 1
    [coverage] = by_rule(report, COVERAGE_RULE)
    assert coverage["source"] == "dockerignore"
    assert coverage["path"] == ".dockerignore"
    assert coverage["line"] == 4  # after the two lines and the "# added by hubguard" header
    assert coverage["title"].startswith('add "**/.env*" to .dockerignore: .env ')
    assert coverage["severity"] == "high"
    assert not by_rule(report, MISSING_RULE)


def test_a_missing_dockerignore_is_high_when_anything_sensitive_is_sent(tmp_path: Path, dotenv: str):
    write_tree(tmp_path, {"Dockerfile": DOCKERFILE, "config/.env.production": dotenv})
    _, report, _ = scan_json(tmp_path)
    [missing] = by_rule(report, MISSING_RULE)
    assert missing["severity"] == "high"
    assert missing["path"] == ".dockerignore"
    [coverage] = by_rule(report, COVERAGE_RULE)
    assert "config/.env.production" in coverage["title"]
    assert coverage["line"] is None and coverage["redacted"] == ""  # no line of a file that does not exist


def test_no_dockerignore_and_nothing_sensitive_passes(tmp_path: Path):
    write_tree(tmp_path, {"Dockerfile": DOCKERFILE, "main.py": "print('hello')\n"})
    code, report, _ = scan_json(tmp_path)
    assert (code, report["findings"]) == (0, [])


def test_a_pattern_that_matches_nothing_is_low_but_defensive_entries_are_not(tmp_path: Path):
    write_tree(
        tmp_path,
        {"Dockerfile": DOCKERFILE, ".dockerignore": ".git\n*.log\nsecret.txt\n", "app/secret.txt": "x\n"},
    )
    code, report, _ = scan_json(tmp_path)
    [unused] = report["findings"]
    assert (unused["rule_id"], unused["severity"], unused["line"]) == (UNUSED_RULE, "low", 3)
    assert unused["path"] == ".dockerignore"
    assert '"secret.txt"' in unused["title"]
    assert code == 1
    assert hubguard(str(tmp_path), "--fail-on", "medium").returncode == 0


def test_fix_appends_minimal_lines_keeps_user_lines_and_is_idempotent(
    tmp_path: Path, dotenv: str, fake_token: FakeToken
):
    user_lines = "# ours\nnode_modules\n!node_modules/keep.js\n\n*.md"  # no final newline, on purpose
    key = f"-----BEGIN PRIVATE KEY-----\n{fake_token('{b64:64}')}\n-----END PRIVATE KEY-----\n"
    write_tree(
        tmp_path,
        {
            "Dockerfile": DOCKERFILE,
            ".dockerignore": user_lines,
            ".env": dotenv,
            "services/api/.env.local": dotenv,
            "certs/server.pem": key,
            "certs/ca.pem": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
            "README.md": "docs\n",
            "node_modules/keep.js": "",
            "node_modules/other.js": "",
        },
    )
    _, before, _ = scan_json(tmp_path)
    promised = {f["line"] for f in by_rule(before, COVERAGE_RULE)}
    result = hubguard(str(tmp_path), "--fix", "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["findings"] == []
    text = (tmp_path / ".dockerignore").read_text()
    assert text == user_lines + "\n# added by hubguard\n**/*.pem\n**/.env*\n"  # one line per kind
    added_at = {number for number, line in enumerate(text.splitlines(), start=1) if line.startswith("**")}
    assert promised == added_at  # the findings pointed at the lines --fix wrote
    again = hubguard(str(tmp_path), "--fix")
    assert again.returncode == 0
    assert again.stderr.endswith("/.dockerignore already leaves out every sensitive file; nothing added\n")
    assert (tmp_path / ".dockerignore").read_text() == text


def test_fix_overrides_a_user_exception_by_appending_after_it(tmp_path: Path, dotenv: str):
    write_tree(
        tmp_path,
        {"Dockerfile": DOCKERFILE, ".dockerignore": "**/.env*\n!config/.env\n", "config/.env": dotenv},
    )
    assert hubguard(str(tmp_path), "--fix").returncode == 0
    assert (
        tmp_path / ".dockerignore"
    ).read_text() == "**/.env*\n!config/.env\n# added by hubguard\n**/.env*\n"


def test_fix_uses_the_exact_path_when_the_rule_line_would_not_cover_it(
    tmp_path: Path, scanner: ContextScanner, fake_token: FakeToken
):
    token = fake_token("ghp_{alnum:36}")
    write_tree(
        tmp_path, {"Dockerfile": DOCKERFILE, ".dockerignore": ".git\n", "src/[conf].py": f'T = "{token}"\n'}
    )
    fixed = scanner.fix(tmp_path)
    assert fixed.added == ["src/\\[conf\\].py"]
    assert DockerIgnore(fixed.added).excludes("src/[conf].py")
    assert fixed.check.report.findings == []


def test_fix_writes_the_per_dockerfile_ignore_file_in_use(tmp_path: Path, dotenv: str):
    write_tree(
        tmp_path,
        {
            "docker/app.Dockerfile": DOCKERFILE,
            "docker/app.Dockerfile.dockerignore": ".git\n",
            ".dockerignore": ".git\n",
            ".env": dotenv,
        },
    )
    _, report, _ = scan_json(Path("."), "-f", "docker/app.Dockerfile", cwd=tmp_path)
    [coverage] = by_rule(report, COVERAGE_RULE)
    assert coverage["path"] == "docker/app.Dockerfile.dockerignore"
    result = hubguard(".", "-f", "docker/app.Dockerfile", "--fix", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "docker/app.Dockerfile.dockerignore").read_text().endswith("**/.env*\n")
    assert (tmp_path / ".dockerignore").read_text() == ".git\n"
    # The classic builder reads only the root .dockerignore, so it still sends .env.
    assert hubguard(".", "-f", "docker/app.Dockerfile", "--builder", "classic", cwd=tmp_path).returncode == 1


def test_a_bad_dockerignore_line_is_named_the_scan_goes_on_and_fix_refuses(tmp_path: Path, dotenv: str):
    write_tree(tmp_path, {"Dockerfile": DOCKERFILE, ".dockerignore": ".git\n!\n", ".env": dotenv})
    code, report, stderr = scan_json(tmp_path)
    assert code == 3
    assert '.dockerignore line 2: illegal exclusion pattern "!"' in stderr
    assert by_rule(report, COVERAGE_RULE)  # every file counts as sent, so .env is reported
    fix = hubguard(str(tmp_path), "--fix")
    assert fix.returncode == 2
    assert fix.stderr.count("\n") == 1 and "cannot fix" in fix.stderr and "line 2" in fix.stderr
    assert (tmp_path / ".dockerignore").read_text() == ".git\n!\n"


def test_exact_pattern_escapes_what_docker_would_read_as_syntax():
    for path in ("#notes", "!important", "a*b?[c]", "trailing "):
        pattern = exact_pattern(path)
        assert DockerIgnore([pattern]).excludes(path), (path, pattern)
        assert not DockerIgnore([pattern]).excludes(path + "x")


@pytest.mark.engine
def test_after_fix_the_real_builder_no_longer_sends_the_file(tmp_path: Path, dotenv: str):
    write_tree(tmp_path, {"Dockerfile": DOCKERFILE, "app.py": "print(1)\n", ".env": dotenv})
    assert ".env" in engine_copy(tmp_path, None, "classic")
    assert hubguard(str(tmp_path), "--fix", "--builder", "classic").returncode == 0
    landed = engine_copy(tmp_path, None, "classic")
    assert ".env" not in landed and "app.py" in landed


def test_fix_says_what_it_did(tmp_path: Path, dotenv: str):
    write_tree(tmp_path / "ctx", {"Dockerfile": DOCKERFILE, ".env": dotenv})
    created = hubguard("ctx", "--fix", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    assert created.stderr == "hubguard: created ctx/.dockerignore with 1 line: **/.env*\n"
    (tmp_path / "ctx" / "server.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    added = hubguard("ctx", "--fix", cwd=tmp_path)
    assert added.stderr == "hubguard: added 1 line to ctx/.dockerignore: **/*.pem\n"


def test_unused_patterns_skip_defensive_entries_and_unentered_directories(tmp_path: Path) -> None:
    ignore = "node_modules\nnode_modules/**/*.map\n*.orig\n.git\n!keep.me\n/.env\n*.log\n"
    make_tree(tmp_path, {".dockerignore": ignore, "node_modules/x.js": "", "debug.log": ""})
    listing = walk_context(tmp_path)
    unused = unused_patterns(listing.patterns, listing)
    assert [(line.line, line.pattern) for line in unused] == [(3, "*.orig"), (5, "!keep.me")]
    everything = unused_patterns(listing.patterns, listing, defensive=())
    assert [line.pattern for line in everything] == ["*.orig", ".git", "!keep.me", ".env"]


def test_defensive_entries_from_a_users_rule_pack_are_not_linted_as_unused(tmp_path: Path):
    context = write_tree(
        tmp_path / "ctx",
        {"Dockerfile": DOCKERFILE, ".dockerignore": "*.orig\n/.acme-cache/\n", "app.py": "\n"},
    )
    rules = write_tree(tmp_path / "rules", {"acme.toml": "[defensive]\npatterns = ['.acme-cache']\n"})
    _, report, _ = scan_json(context)
    assert [finding["line"] for finding in by_rule(report, UNUSED_RULE)] == [1, 2]
    _, report, _ = scan_json(context, "--rules", str(rules))
    assert [finding["line"] for finding in by_rule(report, UNUSED_RULE)] == [1]
