"""``hubguard context``: secrets in what docker build sends (hubguard/context/scan.py).

Every tree is real files on disk; the CLI runs as a user runs it (a subprocess).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from hubguard.context import (
    COVERAGE_RULE,
    MISSING_RULE,
    ContextScanner,
)
from hubguard.model import hash_secret
from tests.context.helpers import DOCKERFILE, FakeToken, by_rule, hubguard, scan_json, write_tree


def test_secrets_in_sent_files_are_found_and_excluded_ones_are_not(tmp_path: Path, fake_token: FakeToken):
    token = fake_token("ghp_{alnum:36}")
    write_tree(
        tmp_path,
        {
            "Dockerfile": DOCKERFILE,
            ".dockerignore": "build\n",
            "app/settings.py": f'GITHUB_TOKEN = "{token}"\n',
            "build/settings.py": f'GITHUB_TOKEN = "{token}"\n',
        },
    )
    code, report, _ = scan_json(tmp_path)
    assert code == 1
    secrets = [finding for finding in report["findings"] if finding["source"] == "context"]
    assert [(f["path"], f["line"], f["rule_id"]) for f in secrets] == [
        ("app/settings.py", 1, "github-pat-classic")
    ]
    assert token not in json.dumps(report)
    assert report["targets"] == [
        {"kind": "context", "name": str(tmp_path), "image_id": "", "platform": "", "layers": []}
    ]


def test_the_compiled_prefilter_is_kept_for_the_next_hook_run(tmp_path: Path, isolated_cache: Path):
    pytest.importorskip("hyperscan")
    write_tree(tmp_path / "ctx", {"Dockerfile": DOCKERFILE, "app/settings.py": "DEBUG = True\n"})
    scan_json(tmp_path / "ctx")
    assert list((isolated_cache / "prefilter").glob("*.hsdb"))


def test_the_dockerfile_is_scanned_but_never_suggested_for_exclusion(tmp_path: Path, fake_token: FakeToken):
    token = fake_token("ghp_{alnum:36}")
    write_tree(
        tmp_path, {"Dockerfile": f"FROM scratch\nENV GITHUB_TOKEN={token}\n", ".dockerignore": ".git\n"}
    )
    _, report, _ = scan_json(tmp_path)
    scanned = [f for f in report["findings"] if f["source"] != "dockerfile"]  # not hubguard lint's
    assert [f["path"] for f in scanned] == ["Dockerfile"]
    assert scanned[0]["source"] == "context"


def test_symlinks_are_sent_as_links_never_followed(tmp_path: Path, dotenv: str, fake_token: FakeToken):
    outside = write_tree(
        tmp_path / "outside", {".env": dotenv, "key.py": f'T = "{fake_token("ghp_{alnum:36}")}"\n'}
    )
    context = write_tree(tmp_path / "context", {"Dockerfile": DOCKERFILE, ".dockerignore": ".git\n"})
    (context / ".env").symlink_to(outside / ".env")
    (context / "shared").symlink_to(outside, target_is_directory=True)
    (context / "loop").symlink_to("loop")
    code, report, stderr = scan_json(context)
    assert report["findings"] == []
    # Harmless (the builder sends the link, never follows it): a note, and no exit 3 to block
    # the pre-commit hook for nothing.
    assert report["summary"]["notes"] == ["loop: symlink loop (sent as a link, not followed)"]
    assert report["summary"]["problems"] == []
    assert code == 0
    assert stderr == ""


def test_a_fifo_is_a_problem_and_the_rest_is_still_scanned(tmp_path: Path, fake_token: FakeToken):
    write_tree(tmp_path, {"Dockerfile": DOCKERFILE, ".dockerignore": ".git\n"})
    write_tree(tmp_path, {"app.py": f'T = "{fake_token("ghp_{alnum:36}")}"\n'})
    os.mkfifo(tmp_path / "pipe")
    code, report, stderr = scan_json(tmp_path)
    assert code == 3
    assert report["summary"]["problems"] == ["pipe: is a FIFO; not scanned (exclude it in the ignore file)"]
    assert "hubguard: scan incomplete: pipe: is a FIFO" in stderr
    assert {f["path"] for f in report["findings"] if f["source"] == "context"} == {"app.py"}


def test_an_unreadable_file_is_one_problem_and_exit_3(tmp_path: Path, fake_token: FakeToken):
    write_tree(tmp_path, {"Dockerfile": DOCKERFILE, ".dockerignore": ".git\n", "app.py": "print(1)\n"})
    write_tree(tmp_path, {"locked.py": f'T = "{fake_token("ghp_{alnum:36}")}"\n'})
    (tmp_path / "locked.py").chmod(0)
    # Root reads anything: drop the capabilities that let it, so the file is really unreadable.
    drop = ("setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--inh-caps", "-all")
    code, report, stderr = scan_json(tmp_path, prefix=drop)
    assert code == 3
    assert report["summary"]["problems"] == ["locked.py: cannot read file (permission denied)"]
    assert stderr.strip() == "hubguard: scan incomplete: locked.py: cannot read file (permission denied)"


def test_a_name_that_is_not_utf8_is_scanned_and_reported_printably(tmp_path: Path, fake_token: FakeToken):
    write_tree(tmp_path, {"Dockerfile": DOCKERFILE, ".dockerignore": ".git\n"})
    name = os.fsdecode(b"caf\xe9.py")
    (tmp_path / name).write_text(f'T = "{fake_token("ghp_{alnum:36}")}"\n')
    code, report, stderr = scan_json(tmp_path)
    assert code == 3
    assert "caf\\xe9.py: file name is not valid UTF-8" in stderr
    secrets = [f for f in report["findings"] if f["source"] == "context"]
    assert [f["path"] for f in secrets] == ["caf\\xe9.py"]
    coverage = by_rule(report, COVERAGE_RULE)
    assert [f["title"].split(":")[0] for f in coverage] == ['add "caf\\xe9.py" to .dockerignore']


def test_third_party_code_follows_the_image_scanners_policy(tmp_path: Path, fake_token: FakeToken):
    token = f"//registry.npmjs.org/:_authToken={fake_token('npm_{alnum:36}')}\n"
    write_tree(
        tmp_path, {"Dockerfile": DOCKERFILE, ".dockerignore": ".git\n", "node_modules/pkg/.npmrc": token}
    )
    code, report, _ = scan_json(tmp_path)
    assert (code, report["findings"], report["summary"]["third_party_skipped"]) == (0, [], 1)
    code, report, _ = scan_json(tmp_path, "--include-third-party")
    assert report["findings"] and all(f["third_party"] for f in report["findings"])
    assert code == 0  # reported, never blocking, as for images


def test_coverage_only_reads_credential_files_alone(tmp_path: Path, dotenv: str, fake_token: FakeToken):
    write_tree(
        tmp_path,
        {
            "Dockerfile": DOCKERFILE,
            ".dockerignore": ".git\n",
            ".env": dotenv,
            "app.py": f'T = "{fake_token("ghp_{alnum:36}")}"\n',
        },
    )
    _, report, _ = scan_json(tmp_path, "--coverage-only")
    assert [(f["rule_id"], f["title"].split(":")[0]) for f in report["findings"]] == [
        (COVERAGE_RULE, 'add "**/.env*" to .dockerignore')
    ]


def test_sarif_describes_the_coverage_rules(tmp_path: Path, dotenv: str):
    write_tree(tmp_path, {"Dockerfile": DOCKERFILE, ".env": dotenv})
    result = hubguard(str(tmp_path), "--format", "sarif")
    run = json.loads(result.stdout)["runs"][0]
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert rules[MISSING_RULE]["shortDescription"]["text"].startswith("No .dockerignore")
    coverage = [r for r in run["results"] if r["ruleId"] == COVERAGE_RULE]
    assert coverage[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == ".dockerignore"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("a", "b"), "one build context at a time"),
        (("-f", "no/such.Dockerfile"), "no such file"),
        (("/no/such/dir",), "build context /no/such/dir"),
        (("--builder", "kaniko"), "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: tuple[str, ...], words: str):
    result = hubguard(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("hubguard") and words in line


@pytest.mark.repo_files
def test_the_docs_list_every_credential_file_rule(scanner: ContextScanner):
    docs = (Path(__file__).resolve().parents[2] / "docs" / "context.md").read_text()
    missing = [rule.id for rule in scanner.rules.file_rules if f"| `{rule.id}` |" not in docs]
    assert missing == [], "add these rules to the table in docs/context.md"


# --- what a newcomer reads ------------------------------------------------------------------


def test_github_and_sarif_paths_are_relative_to_here_not_to_the_context(tmp_path: Path, dotenv: str):
    write_tree(tmp_path / "ctx2", {"Dockerfile": DOCKERFILE, ".env": dotenv})
    github = hubguard("ctx2", "--format", "github", cwd=tmp_path)
    assert github.returncode == 1
    files = set(re.findall(r"file=([^,:]+)", github.stdout))
    assert files == {"ctx2/.env", "ctx2/.dockerignore"}
    assert "preview:  (sha1 )" not in github.stdout and "preview:  " not in github.stdout
    sarif = json.loads(hubguard("ctx2", "--format", "sarif", cwd=tmp_path).stdout)
    uris = {
        location["physicalLocation"]["artifactLocation"]["uri"]
        for result in sarif["runs"][0]["results"]
        for location in result["locations"]
    }
    assert uris == {"ctx2/.env", "ctx2/.dockerignore"}
    # JSON keeps the documented context-relative paths, and fingerprints do not depend on cwd.
    _, inside, _ = scan_json(Path("."), cwd=tmp_path / "ctx2")
    _, outside, _ = scan_json(Path("ctx2"), cwd=tmp_path)
    assert {f["path"] for f in outside["findings"]} == {".env", ".dockerignore"}
    assert {f["fingerprint"] for f in inside["findings"]} == {f["fingerprint"] for f in outside["findings"]}


def test_table_of_a_context_has_no_dangling_separators_or_empty_previews(tmp_path: Path, dotenv: str):
    write_tree(tmp_path, {"Dockerfile": DOCKERFILE, ".env": dotenv})
    result = hubguard(str(tmp_path))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert not [line for line in lines if line.rstrip().endswith(("·", ":")) and not line.startswith("build")]
    assert not [line for line in lines if line.split() == ["preview"]]


def test_an_incomplete_context_says_each_problem_once(tmp_path: Path):
    write_tree(tmp_path, {"Dockerfile": DOCKERFILE, ".dockerignore": ".git\n", "locked.py": "x = 1\n"})
    (tmp_path / "locked.py").chmod(0)
    drop = ("setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--inh-caps", "-all")
    result = hubguard(str(tmp_path), prefix=drop)
    assert result.returncode == 3, result.stdout + result.stderr
    both = result.stdout + result.stderr
    assert both.count("locked.py: cannot read file") == 1, both
    assert "No secrets found in 1 target" not in result.stdout
    assert "scan is incomplete" in result.stdout


def test_pragma_marked_secrets_are_suppressed_and_counted(tmp_path: Path, fake_token: FakeToken):
    same, following, plain = (fake_token("ghp_{alnum:36}") for _ in range(3))
    allowed = (
        f'a = "{same}"  # pragma: allowlist secret\n# pragma: allowlist nextline secret\nb = "{following}"\n'
    )
    write_tree(tmp_path, {"Dockerfile": DOCKERFILE, "settings.py": allowed + f'c = "{plain}"\n'})
    code, report, _ = scan_json(tmp_path)
    assert code == 1
    secrets = [(f["path"], f["hashed_secret"]) for f in report["findings"] if f["source"] == "context"]
    assert secrets == [("settings.py", hash_secret(plain))]
    assert report["summary"]["suppressed"] == 2

    write_tree(tmp_path, {"settings.py": allowed})
    code, report, _ = scan_json(tmp_path)  # no .dockerignore, but nothing sensitive is sent
    assert (code, report["findings"], report["summary"]["suppressed"]) == (0, [], 2)


def test_jobs_spread_a_big_context_over_workers_with_the_same_answer(tmp_path: Path, fake_token: FakeToken):
    token = fake_token("ghp_{alnum:36}")
    files: dict[str, str | bytes] = {f"src/m{index}.py": f"VALUE = {index}\n" for index in range(1200)}
    files.update({"Dockerfile": DOCKERFILE, "src/settings.py": f'GITHUB_TOKEN = "{token}"\n'})
    context = write_tree(tmp_path, files)
    answers = []
    for jobs in ("1", "2"):
        code, report, _ = scan_json(context, "--jobs", jobs)
        answers.append((code, report["findings"], report["summary"]["problems"]))
    assert answers[0] == answers[1]
    assert answers[0][0] == 1 and "github-pat-classic" in [f["rule_id"] for f in answers[0][1]]
    refused = hubguard(str(context), "--jobs", "0")
    assert refused.returncode == 2 and "--jobs" in refused.stderr
