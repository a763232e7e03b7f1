"""The command line as a user meets it: exit codes, one-line errors, report files."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from examples.leaky_image import write_archive
from examples.save_archive import layer_tar
from tests.images import layer_digests, write_docker_archive, write_oci_tar


def hubguard(*args: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hubguard", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("hubguard: ")
    for word in words:
        assert word in lines[0]


@pytest.fixture(scope="module")
def leaky_archive(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("leaky") / "leaky.tar"
    write_archive(path)
    return path


def test_findings_exit_1_and_json_report_written(leaky_archive, tmp_path):
    out = tmp_path / "report.json"
    result = hubguard("scan", f"docker-archive:{leaky_archive}", "--format", "json", "--output", str(out))
    assert result.returncode == 1, result.stderr
    report = json.loads(out.read_text())
    assert report["schema"] == "hubguard/report/v1"
    assert report["summary"]["findings"] == len(report["findings"]) > 0
    assert report["summary"]["complete"] is True


def test_fail_on_threshold(leaky_archive, tmp_path):
    report = json.loads(hubguard("scan", f"docker-archive:{leaky_archive}", "--format", "json").stdout)
    worst = {f["severity"] for f in report["findings"]}
    assert "critical" in worst
    assert hubguard("scan", f"docker-archive:{leaky_archive}", "--fail-on", "critical").returncode == 1


def test_fail_on_above_the_worst_finding_exits_0(tmp_path, fake_token):
    """A medium finding fails ``--fail-on medium`` (and the default) but not ``high``; it is
    still reported either way."""
    layer = layer_tar({"/app/settings.py": f'db_pass = "{fake_token("{alnum:20}")}"\n'.encode()})
    archive = write_docker_archive(tmp_path / "medium.tar", [layer])
    spec = f"docker-archive:{archive}"
    report = json.loads(hubguard("scan", spec, "--format", "json").stdout)
    assert {f["severity"] for f in report["findings"]} == {"medium"}
    assert hubguard("scan", spec).returncode == 1
    assert hubguard("scan", spec, "--fail-on", "medium").returncode == 1
    for threshold in ("high", "critical"):
        result = hubguard("scan", spec, "--fail-on", threshold, "--format", "json")
        assert result.returncode == 0, (threshold, result.stderr)
        assert len(json.loads(result.stdout)["findings"]) == 1


def test_third_party_findings_never_fail_a_scan(tmp_path, fake_token):
    fixture = f'token = "{fake_token("ghp_{alnum:36}")}"\n'.encode()
    lock = (  # sdk came from the registry: its files are a package's, not the user's own
        '{"packages": {"node_modules/sdk": {"version": "1.0.0", '
        '"resolved": "https://registry.example/sdk/-/sdk-1.0.0.tgz", "integrity": "sha512-AAAA"}}}'
    )
    files = {
        "/app/node_modules/sdk/test/auth.js": fixture,
        "/app/node_modules/.package-lock.json": lock.encode(),
    }
    archive = write_docker_archive(tmp_path / "vendored.tar", [layer_tar(files)])
    result = hubguard("scan", f"docker-archive:{archive}", "--include-third-party", "--format", "json")
    assert result.returncode == 0, result.stderr
    [finding] = json.loads(result.stdout)["findings"]
    assert (finding["severity"], finding["third_party"]) == ("critical", True)


def test_clean_image_exits_0(tmp_path):
    import io
    import tarfile

    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        data = b"hello\n"
        info = tarfile.TarInfo("app/hello.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    archive = write_docker_archive(tmp_path / "image.tar", [layer.getvalue()])
    result = hubguard("scan", f"docker-archive:{archive}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 findings" in result.stdout


BUFFERED = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}


def test_the_report_is_whole_on_stdout_when_the_command_exits(leaky_archive):
    """The command leaves without the interpreter's teardown (cli.run), so it flushes stdout
    itself: a report cut short there would read as a clean one to the next tool in a pipe.
    stdout is block-buffered here, as it is to a pipe unless PYTHONUNBUFFERED is set."""
    result = subprocess.run(
        [sys.executable, "-m", "hubguard", "scan", f"docker-archive:{leaky_archive}", "--format", "sarif"],
        capture_output=True,
        text=True,
        env=BUFFERED,
        timeout=300,
    )
    assert result.returncode == 1, result.stderr
    findings = json.loads(hubguard("scan", f"docker-archive:{leaky_archive}", "--format", "json").stdout)
    assert len(json.loads(result.stdout)["runs"][0]["results"]) == len(findings["findings"]) > 0


def test_stdout_that_takes_nothing_is_one_line_and_no_pass(tmp_path):
    """/dev/full refuses every write: what was printed is lost, so a clean scan must not exit 0,
    nor a command whose output was still buffered when it ended."""
    archive = write_docker_archive(tmp_path / "image.tar", [layer_tar({"/app/hello.txt": b"hello\n"})])
    for command, words in (
        (["scan", f"docker-archive:{archive}", "--format", "json"], ()),
        (["cache", "dir", "--cache-dir", str(tmp_path / "cache")], ("cannot write to standard output",)),
    ):
        with open("/dev/full", "w") as full:
            result = subprocess.run(
                [sys.executable, "-m", "hubguard", *command],
                stdout=full,
                stderr=subprocess.PIPE,
                text=True,
                env=BUFFERED,
                timeout=300,
            )
        assert_one_line_error(result, 3, *words)


def test_missing_file_is_an_input_error(tmp_path):
    assert_one_line_error(hubguard("scan", f"docker-archive:{tmp_path}/nope.tar"), 2, "no such file")


def test_garbage_file_is_an_input_error(tmp_path):
    junk = tmp_path / "junk.tar"
    junk.write_bytes(os.urandom(4096))
    assert_one_line_error(hubguard("scan", f"docker-archive:{junk}"), 2, "docker-archive:")


def test_truncated_layer_means_incomplete_exit_3(tmp_path):
    import gzip

    layer = gzip.compress(b"x" * 100000)[:500]  # a gzip layer cut short
    archive = write_docker_archive(tmp_path / "image.tar", [layer])
    result = hubguard("scan", f"docker-archive:{archive}", "--format", "json")
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    assert "is truncated or corrupt" in result.stderr


def test_missing_blob_in_oci_archive_is_incomplete(leaky_archive, tmp_path):
    layer = layer_digests(leaky_archive)[1]
    broken = write_oci_tar(leaky_archive, tmp_path / "partial.tar", drop=layer)
    assert_one_line_error(hubguard("scan", f"docker-archive:{broken}"), 3, "missing")


@pytest.mark.engine
def test_missing_image_in_engine(docker_client):
    assert_one_line_error(hubguard("scan", "hubguard-test/does-not-exist:1"), 2, "no image")


def test_unreachable_daemon():
    result = hubguard("scan", "alpine:3", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert_one_line_error(result, 2, "cannot reach the Docker engine")


def test_bad_usage_is_one_line_exit_2():
    assert_one_line_error(hubguard("scan", "x", "--fail-on", "severe"), 2, "severity")
    assert_one_line_error(hubguard("scan"), 2)


def test_output_to_unwritable_path(leaky_archive, tmp_path):
    result = hubguard(
        "scan", f"docker-archive:{leaky_archive}", "-o", str(tmp_path / "no" / "dir" / "r.json")
    )
    assert_one_line_error(result, 2, "cannot write")


def test_no_secret_value_in_any_output(tmp_path):
    """The planted values never appear in any format: only hashes and short previews."""
    import hashlib
    import io
    import tarfile

    from tests.fakes import expand

    token = expand("ghp_{alnum:36}", seed=os.urandom(8).hex())
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        data = f"GITHUB_TOKEN={token}\n".encode()
        info = tarfile.TarInfo("app/.env")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    history = [{"created_by": f"|1 GH_TOKEN={token} /bin/sh -c make"}]
    archive = write_docker_archive(tmp_path / "image.tar", [layer.getvalue()], config={"history": history})
    for fmt in ("table", "json", "sarif", "github"):
        result = hubguard("scan", f"docker-archive:{archive}", "--format", fmt)
        assert result.returncode == 1, result.stderr
        assert token not in result.stdout + result.stderr, fmt
        assert token[:12] not in result.stdout, fmt
    report = json.loads(hubguard("scan", f"docker-archive:{archive}", "--format", "json").stdout)
    assert hashlib.sha1(token.encode()).hexdigest() in {f["hashed_secret"] for f in report["findings"]}


def test_output_file_prints_the_summary_and_where_the_report_went(leaky_archive, tmp_path):
    out = tmp_path / "report.txt"
    result = hubguard("scan", f"docker-archive:{leaky_archive}", "--output", str(out), env={"COLUMNS": "300"})
    assert result.returncode == 1, result.stderr
    summary, written = result.stdout.splitlines()
    assert summary.startswith("24 findings (") and summary.endswith("scan complete")
    assert written == f"report written to {out}"
    table = out.read_text()
    assert "\x1b" not in table
    assert max(len(line) for line in table.splitlines() if not line.startswith("/")) <= 100


def test_color_option_and_force_color(leaky_archive):
    plain = {"NO_COLOR": "", "FORCE_COLOR": ""}
    assert "\x1b[" not in hubguard("scan", f"docker-archive:{leaky_archive}", env=plain).stdout
    assert (
        "\x1b["
        in hubguard("scan", f"docker-archive:{leaky_archive}", env={**plain, "FORCE_COLOR": "1"}).stdout
    )
    forced = hubguard("scan", f"docker-archive:{leaky_archive}", "--color", "always", env=plain)
    assert "\x1b[" in forced.stdout
    never = hubguard("scan", f"docker-archive:{leaky_archive}", "--color", "never", env={"FORCE_COLOR": "1"})
    assert "\x1b[" not in never.stdout
    bad = hubguard("scan", f"docker-archive:{leaky_archive}", "--color", "sometimes")
    assert_one_line_error(bad, 2, "auto", "always", "never")


def test_table_at_80_columns_shows_every_path_whole_and_once(leaky_archive):
    result = hubguard("scan", f"docker-archive:{leaky_archive}", env={"COLUMNS": "80"})
    lines = result.stdout.splitlines()
    report = json.loads(hubguard("scan", f"docker-archive:{leaky_archive}", "--format", "json").stdout)
    for finding in report["findings"]:
        assert finding["path"] in lines
    assert lines.count("/app/backup/dump.sql.gz!dump.sql") == 1
    long_lines = [
        line for line in lines if len(line) > 80 and line not in {f["path"] for f in report["findings"]}
    ]
    assert long_lines == []


def test_rules_never_truncates_ids():
    from hubguard.detect.rules import load_rules

    rules = load_rules([])
    ids = {rule.id for rule in (*rules.token_rules, *rules.file_rules, *rules.plugins)}
    result = hubguard("rules", env={"COLUMNS": "40"})
    assert result.returncode == 0
    listed = {line.split()[0] for line in result.stdout.splitlines()[1:] if not line.startswith(" ")}
    assert listed == ids


def test_platform_absent_from_the_archive_is_refused_listing_what_is_there(leaky_archive):
    result = hubguard("scan", f"docker-archive:{leaky_archive}", "--platform", "linux/arm64")
    assert_one_line_error(result, 2, "no linux/arm64 image", "platforms present: linux/amd64")
    assert hubguard("scan", f"docker-archive:{leaky_archive}", "--platform", "linux/amd64").returncode == 1


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--jobs", "0", ("--jobs", "1 to 256")),
        ("--jobs", "-3", ("--jobs", "1 to 256")),
        ("--jobs", "100000", ("--jobs", "1 to 256")),
        ("--jobs", "many", ("--jobs", "1 to 256")),
        ("--platform", "arm64", ("--platform", "OS/ARCH")),
    ],
)
def test_out_of_range_options_are_one_line(leaky_archive, option, value, words):
    result = hubguard("scan", f"docker-archive:{leaky_archive}", option, value)
    assert_one_line_error(result, 2, *words)


SUBCOMMANDS = ("scan", "context", "baseline", "rules", "push", "install-plugin", "cache")


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_help_has_description_exit_codes_and_an_example(command):
    result = hubguard(command, "--help", env={"COLUMNS": "80"})
    assert result.returncode == 0
    text = result.stdout
    usage, description = text.split("\n\n")[:2]
    assert usage.startswith(f"usage: hubguard {command}")
    assert len(description.split()) >= 8, description  # says what the command is for
    assert "exit codes:\n  0  " in text
    assert re.search(rf"\nexamples?:\n  hubguard {command} \S", text)
    options = text.split("options:", 1)[1].split("exit codes:")[0]
    for option in re.findall(r"^  (--[a-z-]+)", options, flags=re.M):
        block = options.split(option, 1)[1].split("\n  -", 1)[0]
        assert len(block.split()) >= 2, f"{command} {option} has no help"


def test_help_names_allowed_values_and_defaults():
    scan = hubguard("scan", "--help", env={"COLUMNS": "200"}).stdout
    assert "critical, high, medium or low (default: low" in scan
    assert "$XDG_CACHE_HOME/hubguard" in scan and "{auto,always,never}" in scan
    baseline = hubguard("baseline", "--help", env={"COLUMNS": "200"}).stdout
    assert "default: .secrets.baseline" in baseline


def test_docker_hubguard_help_says_docker_hubguard():
    plugin = [sys.executable, "-m", "hubguard.push.plugin", "hubguard"]
    for args in ([], ["scan"], ["push"]):
        result = subprocess.run([*plugin, *args, "--help"], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"usage: docker hubguard {' '.join(args)}".rstrip())
        assert "usage: hubguard" not in result.stdout
    scan_help = subprocess.run([*plugin, "scan", "--help"], capture_output=True, text=True).stdout
    assert "  docker hubguard scan myname/app:1" in scan_help
