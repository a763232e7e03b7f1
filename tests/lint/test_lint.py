"""``hubguard lint`` on the corpus (tests/lint_corpus) and as a user runs it: rules, formats,
suppression, discovery, exit codes, and the ``context`` command's use of it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hubguard.detect.engine import Detector
from hubguard.detect.rules import RuleSet, load_rules
from hubguard.errors import InputError
from hubguard.lint import LINT_RULES, Linter, kind_of, lint
from hubguard.lint.names import looks_secret, secret_words
from hubguard.model import ScanReport
from tests.lint_corpus import CORPUS, Case, cases
from tests.report.samples import sarif_validator
from tests.test_cli import assert_one_line_error, hubguard

ROOT = Path(__file__).resolve().parents[2]
CASES = cases()
# Text that a case must contain to exercise a rule at all: a good case holding it and expecting
# no finding is that rule's negative.
TRIGGERS = {
    "dockerfile-secret-arg-env": r"^(ARG|ENV) ",
    "dockerfile-literal-secret": r"Authorization|_authToken|://",
    "dockerfile-secret-in-file": r"--mount=type=secret.*>|>.*npmrc",
    "dockerfile-context-copy": r"^COPY \. ",
    "dockerfile-credential-copy": r"^COPY (?!--from)\S*(\.env|\.npmrc|\.pem|\.netrc)",
    "dockerfile-stage-leak": r"--from=",
    "dockerfile-add-url-credentials": r"^ADD https?://",
    "ci-build-arg-secret": r"--build-arg|build-args",
}


@pytest.fixture(scope="module")
def linter() -> Linter:
    return Linter()


def lint_case(case: Case, directory: Path, linter: Linter) -> ScanReport:
    report = ScanReport()
    linter.lint_one(str(case.materialise(directory)), report)
    return report


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_corpus_case_gets_exactly_its_expected_findings(case: Case, tmp_path: Path, linter: Linter):
    report = lint_case(case, tmp_path, linter)
    assert report.problems == []
    assert {(f.rule_id, f.line) for f in report.findings} == case.expected
    if case.group == "good":
        assert report.findings == []


def test_corpus_is_big_enough_and_every_rule_has_positives_and_negatives():
    dockerfiles = [case for case in CASES if case.kind == "dockerfile"]
    assert len(dockerfiles) >= 40
    assert {case.group for case in dockerfiles} == {"bad", "good", "tricky"}
    for rule_id, trigger in TRIGGERS.items():
        positives = [case for case in CASES if any(rule == rule_id for rule, _ in case.expected)]
        negatives = [
            case
            for case in CASES
            if not any(rule == rule_id for rule, _ in case.expected)
            and re.search(trigger, case.path.read_text(), re.MULTILINE)
        ]
        assert positives, f"{rule_id}: no corpus case expects it"
        assert negatives, f"{rule_id}: no corpus case exercises it without expecting it"
    assert set(TRIGGERS) == set(LINT_RULES)


def test_committed_corpus_holds_nothing_that_looks_like_a_real_secret():
    """Fake secrets are templates expanded at test time: the files as committed are clean."""
    detector = Detector(load_rules())
    for path in sorted(CORPUS.rglob("*")):
        if path.is_file() and path.suffix in (".Dockerfile", ".yml", ".mk", ".md"):
            hits = detector.scan_text(
                path.read_bytes(), "Dockerfile" if path.suffix == ".Dockerfile" else path.name
            )
            assert hits == [], f"{path}: {[hit.rule_id for hit in hits]}"


def test_a_later_rm_is_named_and_does_not_clear_the_finding(tmp_path: Path, linter: Linter):
    case = next(case for case in CASES if case.name == "bad/npmrc-removed-in-later-run")
    (finding,) = [
        f for f in lint_case(case, tmp_path, linter).findings if f.rule_id == "dockerfile-secret-in-file"
    ]
    assert finding.title == (
        "$NPM_TOKEN is written to /app/.npmrc: the layer of this RUN keeps it, "
        "even though the RUN at line 6 deletes it (in a new layer)"
    )


def test_builder_only_secret_args_are_medium_and_final_ones_high(tmp_path: Path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM alpine AS build\nARG NPM_TOKEN\nFROM alpine\nARG DB_PASSWORD\n")
    severities = {f.line: f.severity.label for f in lint([str(dockerfile)]).findings}
    assert severities == {2: "medium", 4: "high"}


def test_secret_names_come_from_the_rule_packs_keywords():
    words = secret_words(load_rules())
    assert {"password", "token", "secret", "api_key"} <= set(words)
    secret = ["NPM_TOKEN", "DB_PASSWORD", "SECRET_KEY_BASE", "AWS_SECRET_ACCESS_KEY", "api-key", "DBPASSWORD"]
    plain = [
        "TOKEN_URL",
        "PASSWORD_FILE",
        "NEXT_PUBLIC_API_KEY",
        "GPG_KEY",
        "PATH",
        "TOKENIZER",
        "SECRET_NAME",
    ]
    assert [name for name in secret if not looks_secret(name, words)] == []
    assert [name for name in plain if looks_secret(name, words)] == []


def test_rule_packs_without_the_keyword_rules_are_an_input_error():
    with pytest.raises(InputError, match="generic-secret-env"):
        secret_words(RuleSet((), ()))


def test_kinds_are_told_apart_by_name():
    assert kind_of("Dockerfile") == "dockerfile"
    assert kind_of("svc/app.Dockerfile") == "dockerfile"
    assert kind_of(".github/workflows/ci.yml") == "workflow"
    assert kind_of("/repo/.github/workflows/ci.yaml") == "workflow"
    assert kind_of("Makefile") == kind_of("build/docker.mk") == "makefile"


# --- the command line ----------------------------------------------------------------------


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def run_in(directory: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hubguard", *args],
        cwd=directory,
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"},
        timeout=300,
    )


def test_default_paths_are_the_repositorys_dockerfiles_workflows_and_makefiles(tmp_path: Path):
    files = {
        "Dockerfile": "FROM alpine\nARG A_TOKEN\n",
        "svc/api.Dockerfile": "FROM alpine\nARG B_TOKEN\n",
        "svc/Dockerfile.dev": "FROM alpine\nARG C_TOKEN\n",
        ".github/workflows/ci.yml": "jobs: {b: {steps: [{run: docker build --build-arg D_TOKEN=x .}]}}",
        "Makefile": "i:\n\tdocker build --build-arg E_TOKEN=$(E_TOKEN) .\n",
        "ignored/Dockerfile": "FROM alpine\nARG F_TOKEN\n",
        "docs/Dockerfile-guide.md": "ARG G_TOKEN\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / ".gitignore").write_text("ignored/\n")
    git(tmp_path, "init", "-q")
    result = run_in(tmp_path, "lint", "--format", "json")
    assert result.returncode == 1, result.stderr
    names = {finding["title"].split(" ")[1].rstrip(":") for finding in json.loads(result.stdout)["findings"]}
    assert names == {"A_TOKEN", "B_TOKEN", "C_TOKEN", "D_TOKEN", "E_TOKEN"}
    in_svc = run_in(tmp_path, "lint", "--format", "json", "svc", "Makefile")
    names = {finding["title"].split(" ")[1].rstrip(":") for finding in json.loads(in_svc.stdout)["findings"]}
    assert names == {"B_TOKEN", "C_TOKEN", "E_TOKEN"}


def test_stdin_and_clean_exit(tmp_path: Path):
    bad = run_in(tmp_path, "lint", "-", stdin="FROM alpine\nARG NPM_TOKEN\n")
    assert bad.returncode == 1
    assert "dockerfile-secret-arg-env" in bad.stdout
    assert "fix dockerfile-secret-arg-env: " in bad.stdout
    good = run_in(tmp_path, "lint", "-", stdin="FROM alpine\nRUN --mount=type=secret,id=t,env=T make\n")
    assert good.returncode == 0, good.stdout
    assert "0 findings" in good.stdout


def test_missing_file_and_broken_dockerfile_are_one_line_errors(tmp_path: Path):
    assert_one_line_error(hubguard("lint", str(tmp_path / "nope")), 2, "no such file")
    broken = tmp_path / "Dockerfile"
    broken.write_text("FROM alpine\nRUN <<EOF\necho never ends\n")
    result = hubguard("lint", str(broken))
    assert result.returncode == 3
    assert "heredoc <<EOF is never terminated" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("fmt", ["table", "json", "sarif", "github"])
def test_no_format_prints_the_secret(fmt: str, tmp_path: Path, fake_token):
    token = fake_token("ghp_{alnum:36}")
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(f'FROM alpine\nENV GITHUB_TOKEN={token}\nRUN echo "$GITHUB_TOKEN" > /root/.token\n')
    result = hubguard("lint", "--format", fmt, str(dockerfile))
    assert result.returncode == 1
    if fmt != "github":  # annotations carry title and place, not the rule id
        assert "dockerfile-literal-secret" in result.stdout and "dockerfile-secret-in-file" in result.stdout
    assert token not in result.stdout + result.stderr
    if fmt == "sarif":
        document = json.loads(result.stdout)
        assert [e.message for e in sarif_validator().iter_errors(document)] == []
        rules = {rule["id"]: rule for rule in document["runs"][0]["tool"]["driver"]["rules"]}
        assert "Fix: " in rules["dockerfile-secret-in-file"]["fullDescription"]["text"]
    if fmt == "github":
        assert (
            f"::error file={dockerfile},line=3,title=hubguard critical%3A $GITHUB_TOKEN is written"
            in result.stdout
        )


def test_inline_suppression_needs_a_reason_and_a_known_rule(tmp_path: Path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        "FROM alpine\n# hubguard: ignore=dockerfile-secret-arg-env a public build id\nARG BUILD_TOKEN\n"
        "# hubguard: ignore=no-such-rule reason\nARG DEPLOY_TOKEN\n"
    )
    report = lint([str(dockerfile)])
    assert [f.line for f in report.findings] == [5]
    assert report.suppressed == 1
    assert report.notes == [f"{dockerfile}:4: hubguard: ignore=no-such-rule: no such lint rule"]


def test_context_command_also_lints_its_dockerfile(tmp_path: Path, fake_token):
    (tmp_path / "Dockerfile").write_text(
        'FROM alpine AS build\nARG NPM_TOKEN\nRUN echo "$NPM_TOKEN" > /root/.npmrc\n'
        f"ENV API_TOKEN={fake_token('{alnum:24}')}\nFROM alpine\nCOPY --from=build /root /root\nCOPY . /app\n"
    )
    (tmp_path / ".dockerignore").write_text(".git\n")
    result = run_in(tmp_path, "context", "--format", "json")
    assert result.returncode == 1, result.stderr
    findings = json.loads(result.stdout)["findings"]
    rules = sorted(f["rule_id"] for f in findings)
    assert {(f["path"], f["target"]) for f in findings} == {("Dockerfile", ".")}
    # The literal ENV value is the context scan's own finding (generic-secret-env), not repeated
    # by lint; COPY . coverage is the context's dockerignore check, not repeated either.
    assert rules == [
        "dockerfile-secret-arg-env",
        "dockerfile-secret-arg-env",
        "dockerfile-stage-leak",
        "generic-secret-env",
    ]


def test_readme_shows_the_real_output_at_80_columns(tmp_path: Path):
    """The README example is this corpus file's output, rendered 80 columns wide."""
    from hubguard.lint import fix_hints
    from hubguard.report.table import to_table

    readme = (ROOT / "README.md").read_text()
    example = re.search(
        r"<!-- lint-example: (\S+) -->\n```dockerfile\n(.*?)```\n.*?```text\n(.*?)```", readme, re.S
    )
    assert example, "README lacks the lint example"
    source = CORPUS / example.group(1)
    assert example.group(2) == source.read_text().split("# expect:")[0]
    (tmp_path / "Dockerfile").write_text(source.read_text())
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        report = lint(["Dockerfile"])
    finally:
        os.chdir(cwd)
    shown = to_table(report, color=False, width=80) + fix_hints(report, 80)
    assert example.group(3) == shown
    assert max(len(line) for line in shown.splitlines()) <= 80


def test_every_rule_has_its_docs_anchor_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for rule in LINT_RULES.values():
        assert rule.anchor == f"README.md#{rule.id}"
        assert f"\n#### `{rule.id}`\n" in readme, f"{rule.id}: no README heading for its anchor"
