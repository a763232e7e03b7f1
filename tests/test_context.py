"""``hubguard context``: secrets in what docker build sends, .dockerignore coverage, ``--fix``.

Every tree is real files on disk; the CLI runs as a user runs it (a subprocess), and one test
builds with the real engine to prove that a context hubguard passes after ``--fix`` really
keeps the file out of the image.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from hubguard.context import (
    COVERAGE_RULE,
    MISSING_RULE,
    UNUSED_RULE,
    ContextScanner,
    exact_pattern,
    staged_contexts,
)
from hubguard.dockerignore import DockerIgnore
from hubguard.model import hash_secret
from tests.test_dockerignore_differential import engine_copy

DOCKERFILE = "FROM scratch\nCOPY . /ctx/\n"
FakeToken = Callable[[str], str]


def hubguard(
    *args: str, cwd: Path | None = None, prefix: tuple[str, ...] = ()
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*prefix, sys.executable, "-m", "hubguard", "context", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=300,
    )


def scan_json(context: Path, *args: str, **kwargs) -> tuple[int, dict, str]:
    result = hubguard(str(context), "--format", "json", *args, **kwargs)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout), result.stderr


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


def by_rule(report: dict, rule_id: str) -> list[dict]:
    return [finding for finding in report["findings"] if finding["rule_id"] == rule_id]


@pytest.fixture(scope="module")
def scanner() -> ContextScanner:
    return ContextScanner()


@pytest.fixture
def dotenv(fake_token: FakeToken) -> str:
    return f"API_TOKEN={fake_token('{alnum:32}')}\n"


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


def test_exact_pattern_escapes_what_docker_would_read_as_syntax():
    for path in ("#notes", "!important", "a*b?[c]", "trailing "):
        pattern = exact_pattern(path)
        assert DockerIgnore([pattern]).excludes(path), (path, pattern)
        assert not DockerIgnore([pattern]).excludes(path + "x")


def test_staged_files_map_to_every_context_above_them(tmp_path: Path):
    write_tree(
        tmp_path,
        {
            "Dockerfile": DOCKERFILE,
            "svc/api/app.Dockerfile": DOCKERFILE,
            "svc/api/src/main.py": "",
        },
    )
    plan = staged_contexts(
        [str(tmp_path / "svc/api/src/main.py"), str(tmp_path / "svc/api/app.Dockerfile.dockerignore")],
        tmp_path,
    )
    by_place = {(str(c.directory.relative_to(tmp_path)), c.dockerfile): only for c, only in plan.items()}
    assert by_place == {
        (".", "Dockerfile"): {"svc/api/src/main.py", "svc/api/app.Dockerfile.dockerignore"},
        ("svc/api", "app.Dockerfile"): None,  # its ignore file changed: judge the whole context
    }


@pytest.mark.engine
def test_after_fix_the_real_builder_no_longer_sends_the_file(tmp_path: Path, dotenv: str):
    write_tree(tmp_path, {"Dockerfile": DOCKERFILE, "app.py": "print(1)\n", ".env": dotenv})
    assert ".env" in engine_copy(tmp_path, None, "classic")
    assert hubguard(str(tmp_path), "--fix", "--builder", "classic").returncode == 0
    landed = engine_copy(tmp_path, None, "classic")
    assert ".env" not in landed and "app.py" in landed


@pytest.mark.repo_files
def test_the_docs_list_every_credential_file_rule(scanner: ContextScanner):
    docs = (Path(__file__).resolve().parent.parent / "docs" / "context.md").read_text()
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


def test_fix_says_what_it_did(tmp_path: Path, dotenv: str):
    write_tree(tmp_path / "ctx", {"Dockerfile": DOCKERFILE, ".env": dotenv})
    created = hubguard("ctx", "--fix", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    assert created.stderr == "hubguard: created ctx/.dockerignore with 1 line: **/.env*\n"
    (tmp_path / "ctx" / "server.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    added = hubguard("ctx", "--fix", cwd=tmp_path)
    assert added.stderr == "hubguard: added 1 line to ctx/.dockerignore: **/*.pem\n"


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
