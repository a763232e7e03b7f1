"""Suppressions as a user meets them: ``.hubguardignore`` entries, expiry, mistakes in the file,
detect-secrets baselines, and ``hubguard baseline`` read back by detect-secrets itself."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from examples.leaky_image import write_archive
from hubguard.errors import InputError
from hubguard.model import Finding, ScanReport, Severity, hash_secret
from hubguard.suppress import load_suppressions, parse_ignore_file

TOMORROW = (date.today() + timedelta(days=1)).isoformat()
YESTERDAY = (date.today() - timedelta(days=1)).isoformat()


def finding(rule_id: str, path: str, secret: str) -> Finding:
    return Finding(rule_id, rule_id, Severity.HIGH, "layer", path, 1, hash_secret(secret), "…")


@pytest.fixture
def report(fake_token) -> ScanReport:
    return ScanReport(
        findings=[
            finding("github-pat-classic", "/app/static/app.min.js", fake_token("ghp_{alnum:36}")),
            finding("generic-secret-env", "/app/tests/fixtures/app.env", fake_token("{alnum:20}")),
            finding(
                "slack-token", "/app/lib/service.jar!BOOT-INF/app.properties", fake_token("xoxb-{digit:12}")
            ),
            finding("env-secret", "Config.Env", fake_token("{alnum:20}")),
        ]
    )


def suppress(project: Path, ignore: str, report: ScanReport) -> list[str]:
    """Write ``ignore`` as the project's .hubguardignore, apply it; the rule ids left."""
    (project / ".hubguardignore").write_text(ignore)
    load_suppressions(project).apply(report)
    return [f.rule_id for f in report.findings]


def test_rule_entry_suppresses_that_rule_only(tmp_path, report):
    assert suppress(tmp_path, "rule:generic-secret-env\n", report) == [
        "github-pat-classic",
        "slack-token",
        "env-secret",
    ]
    assert report.suppressed == 1


def test_path_globs_cover_directories_archive_members_and_config(tmp_path, report):
    ignore = "path:/app/tests/**\npath:*.jar   # vendored jar\npath:Config.Env\n"
    assert suppress(tmp_path, ignore, report) == ["github-pat-classic"]
    assert report.suppressed == 3


def test_fingerprint_entry_suppresses_exactly_one_finding(tmp_path, report):
    target = report.findings[0]
    same_secret_elsewhere = Finding(
        target.rule_id, target.title, target.severity, "layer", "/app/other.js", 1, target.hashed_secret, "…"
    )
    report.findings.append(same_secret_elsewhere)
    kept = suppress(tmp_path, f"fingerprint:{target.fingerprint}\n", report)
    assert target not in report.findings and same_secret_elsewhere in report.findings
    assert len(kept) == 4 and report.suppressed == 1


def test_expired_entry_stops_suppressing_and_says_so(tmp_path, report):
    ignore = (
        f"rule:github-pat-classic expires={YESTERDAY}  # rotate by then\n"
        f"rule:slack-token expires={TOMORROW}\n"
    )
    kept = suppress(tmp_path, ignore, report)
    assert "github-pat-classic" in kept and "slack-token" not in kept
    assert report.notes == [
        f"{tmp_path / '.hubguardignore'}:1: rule:github-pat-classic (rotate by then) "
        f"expired on {YESTERDAY}, no longer suppresses",
        f"{tmp_path / '.hubguardignore'}: suppressed 1 finding",
    ]


def test_entry_expires_on_its_date(tmp_path, report):
    kept = suppress(tmp_path, f"rule:github-pat-classic expires={date.today().isoformat()}\n", report)
    assert "github-pat-classic" in kept


def test_comments_and_blank_lines_are_ignored(tmp_path):
    ignore = tmp_path / ".hubguardignore"
    ignore.write_text("# header\n\n   \n  # indented comment\npath:/app/a#b.txt  # hash inside a glob\n")
    [entry] = parse_ignore_file(ignore)
    assert (entry.kind, entry.value, entry.comment, entry.origin) == (
        "path",
        "/app/a#b.txt",
        "hash inside a glob",
        f"{ignore}:5",
    )


CANNOT_PARSE = (
    "cannot parse {line!r} (expected rule:ID, path:GLOB or fingerprint:FP, "
    "optionally followed by expires=YYYY-MM-DD)"
)


@pytest.mark.parametrize(
    ("line", "cause"),
    [
        ("rules:github-pat-classic", CANNOT_PARSE),  # unknown kind
        ("path:", CANNOT_PARSE),  # no value
        ("github-pat-classic", CANNOT_PARSE),  # no kind
        ("rule:a rule:b", CANNOT_PARSE),  # two entries on a line
        ("path:/app/my secrets/*", CANNOT_PARSE),  # a space in a glob
        ("rule:x expires=2025-13-01", "expires=2025-13-01 is not a YYYY-MM-DD date"),  # no such date
        ("rule:x expires=tomorrow", "expires=tomorrow is not a YYYY-MM-DD date"),
        ("rule:x until=2030-01-01", CANNOT_PARSE),
    ],
)
def test_malformed_line_is_an_input_error_naming_file_line_and_cause(tmp_path, line, cause):
    ignore = tmp_path / ".hubguardignore"
    ignore.write_text(f"# fine\nrule:fine\n{line}\n")
    with pytest.raises(InputError) as raised:
        load_suppressions(tmp_path)
    assert str(raised.value).startswith(f"{ignore}:3: ")
    assert cause.format(line=line) in str(raised.value)


def test_a_stray_ignore_file_in_a_parent_directory_is_never_read(tmp_path, report):
    """A planted /tmp/.hubguardignore must not silence a scan run below it (no .git anywhere)."""
    (tmp_path / ".hubguardignore").write_text("rule:github-pat-classic\n")
    (tmp_path / "project").mkdir()
    load_suppressions(tmp_path / "project").apply(report)
    assert report.suppressed == 0


def test_the_user_ignore_file_and_ignore_file_option_are_read_and_named(tmp_path, report, monkeypatch):
    config = tmp_path / "config"
    (config / "hubguard").mkdir(parents=True)
    (config / "hubguard" / "hubguardignore").write_text("rule:github-pat-classic\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    extra = tmp_path / "extra.ignore"
    extra.write_text("rule:slack-token\n")
    (tmp_path / "project").mkdir()
    load_suppressions(tmp_path / "project", ignore_file=extra).apply(report)
    assert report.suppressed == 2
    assert f"{config / 'hubguard' / 'hubguardignore'}: suppressed 1 finding" in report.notes
    assert f"{extra}: suppressed 1 finding" in report.notes


def test_ignore_file_found_in_a_parent_but_not_above_the_git_checkout(tmp_path, report):
    (tmp_path / ".hubguardignore").write_text("rule:github-pat-classic\n")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "src").mkdir()
    load_suppressions(repo / "src").apply(report)
    assert report.suppressed == 0  # the file above the checkout belongs to something else

    (repo / ".hubguardignore").write_text("rule:github-pat-classic\n")
    load_suppressions(repo / "src").apply(report)
    assert report.suppressed == 1


def test_baseline_suppresses_the_same_secret_at_any_path(tmp_path, fake_token):
    secret = fake_token("ghp_{alnum:36}")
    other = fake_token("ghp_{alnum:36}")
    baseline = {
        "version": "1.5.0",
        "results": {"src/settings.py": [{"type": "GitHub Token", "hashed_secret": hash_secret(secret)}]},
    }
    (tmp_path / ".secrets.baseline").write_text(json.dumps(baseline))
    report = ScanReport(
        findings=[
            finding("github-pat-classic", "/app/settings.py", secret),
            finding("github-pat-classic", "/x", other),
        ]
    )
    load_suppressions(tmp_path).apply(report)
    assert [f.hashed_secret for f in report.findings] == [hash_secret(other)]
    assert report.suppressed == 1


@pytest.mark.parametrize(
    ("content", "cause"),
    [
        ("not json", "not readable as JSON"),
        ("[]", 'no "results" object'),
        ('{"results": []}', 'no "results" object'),
        ('{"results": {"a.py": [{"type": "x"}]}}', "results['a.py'] is not a list of hashed_secret entries"),
        ('{"results": {"a": {}}}', "results['a'] is not a list of hashed_secret entries"),
    ],
)
def test_a_file_that_is_not_a_baseline_is_an_input_error(tmp_path, content, cause):
    path = tmp_path / "broken.baseline"
    path.write_text(content)
    with pytest.raises(InputError) as raised:
        load_suppressions(tmp_path, path)
    assert str(raised.value).startswith(f"baseline {path}: ")
    assert cause in str(raised.value)


def test_an_explicit_baseline_must_exist(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_suppressions(tmp_path, tmp_path / "missing.baseline")


# -- through the command line -----------------------------------------------------------------


def hubguard(cwd: Path, *args: str, env_columns: str = "") -> subprocess.CompletedProcess[str]:
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root), "HUBGUARD_CACHE_DIR": str(cwd / ".cache")}
    if env_columns:
        env["COLUMNS"] = env_columns
    return subprocess.run(
        [sys.executable, "-m", "hubguard", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.fixture
def project(tmp_path) -> Path:
    """A git checkout holding a leaky image archive (the scans run from inside it)."""
    (tmp_path / ".git").mkdir()
    write_archive(tmp_path / "leaky.tar")
    return tmp_path


def scan_json(project: Path, *args: str) -> tuple[int, dict]:
    result = hubguard(project, "scan", "docker-archive:leaky.tar", "--format", "json", *args)
    assert "Traceback" not in result.stderr
    return result.returncode, json.loads(result.stdout) if result.stdout else {}


def test_scan_applies_the_ignore_file_and_reports_the_count(project):
    code, before = scan_json(project)
    assert code == 1
    total = len(before["findings"])
    (project / ".hubguardignore").write_text("path:/app/**\npath:/root/**\n")
    code, after = scan_json(project)
    assert code == 1  # ENV, LABEL and history findings remain
    assert {f["path"].split("[")[0] for f in after["findings"]} <= {"Config.Env", "Config.Labels", "history"}
    assert after["summary"]["suppressed"] == total - len(after["findings"]) > 0


def test_malformed_ignore_file_fails_the_scan_with_one_line(project):
    (project / ".hubguardignore").write_text("rule:ok\nrule github-pat-classic\n")
    result = hubguard(project, "scan", "docker-archive:leaky.tar")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert ".hubguardignore:2:" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.repo_files
def test_baseline_round_trip_through_detect_secrets(project):
    _, before = scan_json(project)
    written = hubguard(project, "baseline", "docker-archive:leaky.tar")
    assert written.returncode == 0, written.stderr

    # detect-secrets' own loader and audit command accept the file and see every secret.
    loader = (
        "import json, sys\n"
        "from detect_secrets.core import baseline\n"
        "secrets = baseline.load(baseline.load_from_file('.secrets.baseline'), '.secrets.baseline')\n"
        "json.dump(sorted({(f, s.secret_hash) for f, s in secrets}), sys.stdout)\n"
    )
    loaded = subprocess.run([sys.executable, "-c", loader], cwd=project, capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr
    expected = sorted({(f["path"], f["hashed_secret"]) for f in before["findings"]})
    assert [tuple(pair) for pair in json.loads(loaded.stdout)] == expected
    audit = subprocess.run(
        [
            str(Path(sys.executable).with_name("detect-secrets")),
            "audit",
            "--stats",
            "--json",
            ".secrets.baseline",
        ],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert audit.returncode == 0, audit.stderr
    unknown = sum(plugin["stats"]["raw"]["unknown"] for plugin in json.loads(audit.stdout).values())
    assert unknown == len(expected)
    # What docs/suppressions.md says does not work: --report opens each in-image path on disk.
    report = subprocess.run(
        ["detect-secrets", "audit", "--report", ".secrets.baseline"],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert report.returncode != 0 and "/app/" in report.stderr
    docs = (Path(__file__).resolve().parent.parent / "docs" / "suppressions.md").read_text()
    assert "`detect-secrets audit --stats` read it" in docs and "those two commands fail on it" in docs

    # The baseline now suppresses everything it lists, so the same image passes.
    code, after = scan_json(project)
    assert (code, after["findings"], after["summary"]["suppressed"]) == (0, [], len(before["findings"]))


def test_baseline_update_keeps_existing_entries(project, fake_token):
    earlier_hash = hash_secret(fake_token("{alnum:24}"))
    earlier = {
        "version": "1.5.0",
        "results": {
            "src/app.py": [
                {"type": "Secret Keyword", "filename": "src/app.py", "hashed_secret": earlier_hash}
            ]
        },
    }
    (project / ".secrets.baseline").write_text(json.dumps(earlier))
    assert hubguard(project, "baseline", "docker-archive:leaky.tar", "--update").returncode == 0
    updated = json.loads((project / ".secrets.baseline").read_text())
    assert updated["results"]["src/app.py"][0]["hashed_secret"] == earlier_hash
    assert len(updated["results"]) > 1

    assert hubguard(project, "baseline", "docker-archive:leaky.tar").returncode == 0
    assert "src/app.py" not in json.loads((project / ".secrets.baseline").read_text())["results"]


def test_baseline_update_of_a_broken_file_is_an_input_error(project):
    (project / ".secrets.baseline").write_text("{")
    result = hubguard(project, "baseline", "docker-archive:leaky.tar", "--update")
    assert result.returncode == 2 and ".secrets.baseline" in result.stderr
    assert (project / ".secrets.baseline").read_text() == "{"


# -- mistakes that would silently suppress nothing ----------------------------------------------


def test_the_fingerprint_prefix_the_table_shows_suppresses_that_finding(tmp_path, report):
    target = report.findings[0]
    kept = suppress(tmp_path, f"fingerprint:{target.fingerprint[:12]}\n", report)
    assert target not in report.findings and len(kept) == 3
    assert list(report.suppressed_by.values()) == [1]


def test_an_ambiguous_fingerprint_prefix_is_refused(tmp_path, report):
    first = report.findings[0]
    twin = Finding(
        "twin",
        "twin",
        Severity.HIGH,
        "layer",
        "/x",
        1,
        first.hashed_secret,
        "…",
        fingerprint=first.fingerprint[:12] + "0" * 20,
    )
    report.findings.append(twin)
    with pytest.raises(InputError, match=r":1: fingerprint:\w{12} matches 2 findings"):
        suppress(tmp_path, f"fingerprint:{first.fingerprint[:12]}\n", report)


@pytest.mark.parametrize("value", ["3f2a", "not-hex-at-all", "0" * 33])
def test_a_fingerprint_that_cannot_be_one_is_refused(tmp_path, value):
    (tmp_path / ".hubguardignore").write_text(f"fingerprint:{value}\n")
    with pytest.raises(InputError, match="8 to 32 hex characters"):
        load_suppressions(tmp_path)


def test_an_entry_that_matched_nothing_is_a_warning(tmp_path, report):
    (tmp_path / ".hubguardignore").write_text("rule:slack-token\npath:/nowhere/**\n")
    suppressions = load_suppressions(tmp_path)
    suppressions.apply(report)
    assert suppressions.warnings == [
        f"{tmp_path / '.hubguardignore'}:2: path:/nowhere/** matched nothing in this scan"
    ]


def test_unknown_rule_id_is_one_line_naming_the_nearest_real_id(project):
    (project / ".hubguardignore").write_text("rule:github-pat\n")
    result = hubguard(project, "scan", "docker-archive:leaky.tar")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert (
        ".hubguardignore:1: rule:github-pat is no rule id (did you mean rule:github-pat-classic?"
        in result.stderr
    )


def test_unused_entry_warns_on_the_command_line(project):
    (project / ".hubguardignore").write_text(
        "rule:slack-token\nrule:azure-sas-token  # never in this image\n"
    )
    result = hubguard(project, "scan", "docker-archive:leaky.tar")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"hubguard: warning: {project / '.hubguardignore'}:2: rule:azure-sas-token "
        "matched nothing in this scan"
    ]


def test_summary_line_names_the_baseline_that_suppressed_and_baseline_records_its_image(project):
    _, before = scan_json(project)
    assert hubguard(project, "baseline", "docker-archive:leaky.tar").returncode == 0
    recorded = json.loads((project / ".secrets.baseline").read_text())["hubguard"]["targets"]
    assert recorded == [before["targets"][0]["name"]]
    result = hubguard(project, "scan", "docker-archive:leaky.tar", env_columns="200")
    assert result.returncode == 0, result.stderr
    total = len(before["findings"])
    assert result.stdout.splitlines()[-1].startswith(
        f"0 findings (0 critical, 0 high, 0 medium, 0 low), {total} findings suppressed by .secrets.baseline,"
    )
    assert result.stderr == ""
    _, after = scan_json(project)
    assert after["summary"]["suppressed_by"] == {".secrets.baseline": total}


def test_a_baseline_applied_to_another_image_warns(project):
    assert hubguard(project, "baseline", "docker-archive:leaky.tar").returncode == 0
    write_archive(project / "other.tar", tag="someone/else:2")
    result = hubguard(project, "scan", "docker-archive:other.tar")
    assert result.returncode == 1  # fresh fakes: the baseline knows none of them
    assert (
        "hubguard: warning: .secrets.baseline was written for hubguard-example/leaky:1, "
        "not for someone/else:2" in result.stderr
    )


def test_an_expired_entry_without_a_comment_is_noted_plainly_and_counts_add_up(tmp_path, report):
    report.suppressed = 2  # suppressed earlier (pragmas)
    suppress(tmp_path, f"rule:env-secret expires={YESTERDAY}\nrule:slack-token\n", report)
    assert report.notes == [
        f"{tmp_path / '.hubguardignore'}:1: rule:env-secret expired on {YESTERDAY}, no longer suppresses",
        f"{tmp_path / '.hubguardignore'}: suppressed 1 finding",  # the file that did suppress
    ]
    assert report.suppressed == 3


def test_a_path_glob_on_an_archive_covers_members_of_members(tmp_path):
    nested = ScanReport(findings=[finding("r", "/app/lib/a.jar!inner.zip!conf/app.properties", "x")])
    load_suppressions_from(tmp_path, "path:/app/lib/a.jar\n").apply(nested)
    assert (nested.findings, nested.suppressed) == ([], 1)


def load_suppressions_from(directory: Path, text: str):
    (directory / ".hubguardignore").write_text(text)
    return load_suppressions(directory)


def test_an_unreadable_ignore_file_is_an_input_error_with_the_cause(tmp_path):
    (tmp_path / ".hubguardignore").write_bytes(b"rule:\xff\xfe\n")
    with pytest.raises(InputError) as raised:
        load_suppressions(tmp_path)
    assert str(raised.value).startswith(f"{tmp_path / '.hubguardignore'}: cannot read (")
    assert "can't decode" in str(raised.value)


def test_baseline_document_in_detect_secrets_format(tmp_path, fake_token):
    from hubguard.detect.rules import load_rules
    from hubguard.suppress import baseline_document, write_baseline

    rules = load_rules()
    github, other = fake_token("ghp_{alnum:36}"), fake_token("{alnum:20}")
    in_env = Finding(
        "env-secret", "Secret in ENV", Severity.HIGH, "config", "Config.Env", None, hash_secret(other), "…"
    )
    findings = [
        Finding(
            "github-pat-classic",
            "GitHub Token",
            Severity.HIGH,
            "layer",
            "/app/a.py",
            7,
            hash_secret(github),
            "…",
        ),
        in_env,
        in_env,  # the same finding twice (two images, say)
    ]
    previous = {
        "results": {"old.py": [{"type": "Secret Keyword", "hashed_secret": "ab" * 20, "line_number": 1}]}
    }
    document = baseline_document(findings, rules, previous)
    assert document["plugins_used"] == [{"name": name} for name in sorted(p.name for p in rules.plugins)]
    assert document["filters_used"] and all(
        f["path"].startswith("detect_secrets.") for f in document["filters_used"]
    )
    assert document["results"] == {
        "/app/a.py": [
            {
                "type": "GitHub Token",
                "filename": "/app/a.py",
                "hashed_secret": hash_secret(github),
                "is_verified": False,
                "line_number": 7,
            }
        ],
        "Config.Env": [
            {
                "type": "Secret Keyword",
                "filename": "Config.Env",
                "hashed_secret": hash_secret(other),
                "is_verified": False,
            }
        ],
        "old.py": previous["results"]["old.py"],
    }
    assert list(document["results"]) == sorted(document["results"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", document["generated_at"])

    from detect_secrets.__version__ import VERSION

    assert document["version"] == VERSION
    later = Finding(
        "github-pat-classic", "GitHub Token", Severity.HIGH, "layer", "/app/a.py", 2, "ff" * 20, "…"
    )
    again = baseline_document([*findings, later], rules, document)  # the previous entries are kept once
    assert [e["line_number"] for e in again["results"]["/app/a.py"]] == [2, 7]
    assert len(again["results"]["Config.Env"]) == 1

    path = tmp_path / ".secrets.baseline"
    write_baseline(path, document)
    assert path.read_text().endswith("}\n")
    assert '\n  "version": ' in path.read_text()  # indented like detect-secrets writes it
    assert json.loads(path.read_text()) == document
    with pytest.raises(InputError, match="cannot write"):
        write_baseline(tmp_path / "no" / "dir" / ".secrets.baseline", document)
