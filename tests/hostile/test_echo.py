"""Nothing read from scanned input reaches an output unredacted or unprintable: ``.dockerignore``
lines, file names holding tokens, undecodable bytes, in every report format."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from hubguard.report import FORMATS
from tests.hostile.harness import check, layer, legacy_archive, reported, run_cli, token


def make_context(root: Path, files: dict[str, bytes | str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, data in {"Dockerfile": "FROM scratch\nCOPY . /\n", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
    return root


# --- 4. .dockerignore lines are input -----------------------------------------------------------


@pytest.mark.parametrize("report_format", FORMATS)
def test_a_token_written_as_a_dockerignore_line_is_never_printed(tmp_path, report_format):
    secret = token()
    context = make_context(tmp_path / "ctx", {".dockerignore": f"*.log\n{secret}\n", "app.py": "print(1)\n"})
    reports = tmp_path / "reports"
    reports.mkdir()
    run = run_cli(tmp_path, "context", str(context), "--format", report_format)
    check(run, tmp_path, [secret], codes=(1,))
    written = run_cli(
        tmp_path, "context", str(context), "--format", report_format, "--output", str(reports / "r.out")
    )
    check(written, tmp_path, [secret], codes=(1,))


def test_an_invalid_dockerignore_line_holding_a_token_is_not_echoed(tmp_path):
    secret = token()
    context = make_context(tmp_path / "ctx", {".dockerignore": f"{secret}[\n"})
    run = run_cli(tmp_path, "context", str(context), "--format", "json")
    check(run, tmp_path, [secret], codes=(3,))
    assert ".dockerignore line 1: invalid pattern" in run.stderr
    fixed = run_cli(tmp_path, "context", str(context), "--fix")
    check(fixed, tmp_path, [secret], codes=(2,))


def test_a_dockerignore_symlinked_outside_the_context_is_not_read(tmp_path):
    secret = token()
    outside = tmp_path / "private.txt"
    outside.write_text(f"root-only-line-{os.getpid()}\n{secret}\n")
    context = make_context(tmp_path / "ctx", {"app.py": "print(1)\n"})
    (context / ".dockerignore").symlink_to(outside)
    run = run_cli(tmp_path, "context", str(context), "--format", "json")
    check(run, tmp_path, [secret, f"root-only-line-{os.getpid()}"], codes=(3,))
    assert "outside the build context" in run.stderr


# --- 5. --fix never writes through a symlink -----------------------------------------------------


@pytest.mark.parametrize("target", ["outside", "inside"])
def test_fix_refuses_a_symlinked_dockerignore(tmp_path, target):
    context = make_context(tmp_path / "ctx", {".env": f"GITHUB_TOKEN={token()}\n", "real.ignore": "*.log\n"})
    destination = tmp_path / "outside.ignore" if target == "outside" else context / "real.ignore"
    destination.write_text("*.log\n")
    (context / ".dockerignore").symlink_to(destination)
    run = run_cli(tmp_path, "context", str(context), "--fix")
    check(run, tmp_path, codes=(2,))
    assert "symlink" in run.stderr
    assert destination.read_text() == "*.log\n"


# --- 6. a token in a file name ----------------------------------------------------------------


@pytest.mark.parametrize("report_format", FORMATS)
def test_a_token_in_a_layer_file_name_is_reported_and_redacted_everywhere(tmp_path, report_format):
    secret = token()
    data = layer({f"app/{secret}/notes.txt": b"hello\n", f"srv/{secret}.txt": b"x\n"})
    archive = legacy_archive(tmp_path / "a.tar", [data])
    run = run_cli(tmp_path, "scan", f"docker-archive:{archive}", "--format", report_format)
    check(run, tmp_path, [secret], codes=(1,))
    again = run_cli(tmp_path, "scan", f"docker-archive:{archive}", "--format", "json")  # from the cache
    check(again, tmp_path, [secret], codes=(1,))
    assert reported(again, secret)


def test_a_token_in_an_archive_member_name_and_a_context_file_name_is_redacted(tmp_path):
    import io
    import zipfile

    secret, other = token(), token()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(f"conf/{secret}.txt", "x\n")
    archive = legacy_archive(tmp_path / "a.tar", [layer({"app/lib.jar": out.getvalue()})])
    run = run_cli(tmp_path, "scan", f"docker-archive:{archive}", "--format", "json")
    check(run, tmp_path, [secret], codes=(1,))
    assert reported(run, secret)
    context = make_context(tmp_path / "ctx", {f"keys/{other}.txt": "x\n"})
    run = run_cli(tmp_path, "context", str(context), "--format", "json")
    check(run, tmp_path, [other], codes=(1,))
    assert reported(run, other)


# --- 9. undecodable bytes: surrogateescape inside, \xNN in every output ---------------------------


@pytest.mark.parametrize("report_format", FORMATS)
def test_a_non_utf8_file_name_holding_a_secret_prints_in_every_format(tmp_path, report_format):
    import io
    import tarfile

    secret = token()
    out = io.BytesIO()
    with tarfile.open(
        fileobj=out, mode="w", format=tarfile.GNU_FORMAT, encoding="utf-8", errors="surrogateescape"
    ) as tar:
        name = b"app/caf\xe9-\xff.env".decode("utf-8", "surrogateescape")
        data = f"GITHUB_TOKEN={secret}\n".encode()
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    archive = legacy_archive(tmp_path / "a.tar", [out.getvalue()])
    reports = tmp_path / "reports"
    reports.mkdir()
    output = reports / f"report.{report_format}"
    run = run_cli(
        tmp_path, "scan", f"docker-archive:{archive}", "--format", report_format, "--output", str(output)
    )
    check(run, tmp_path, [secret], codes=(1,))
    text = output.read_bytes().decode("utf-8")  # always valid UTF-8
    assert "caf\\xe9-\\xff.env" in text or "caf\\\\xe9-\\\\xff.env" in text
    if report_format in ("json", "sarif"):
        json.loads(text)


@pytest.mark.parametrize("report_format", FORMATS)
def test_a_non_utf8_dockerignore_line_and_file_name_print_in_every_format(tmp_path, report_format):
    context = make_context(tmp_path / "ctx", {".dockerignore": b"*.log\nnot-\xff-here\n"})
    (context / os.fsdecode(b"data-\xfe.txt")).write_text("x\n")
    reports = tmp_path / "reports"
    reports.mkdir()
    output = reports / "report.out"
    run = run_cli(tmp_path, "context", str(context), "--format", report_format, "--output", str(output))
    check(run, tmp_path, codes=(1, 3))
    text = output.read_bytes().decode("utf-8")
    assert "\\xff" in text or "\\\\xff" in text
    if report_format in ("json", "sarif"):
        json.loads(text)


def test_a_config_with_lone_surrogates_is_one_input_error(tmp_path):
    data = layer({"a": b"1"})
    archive = legacy_archive(tmp_path / "a.tar", [data])
    import tarfile

    with tarfile.open(archive) as tar:
        members = {member.name: tar.extractfile(member).read() for member in tar if member.isfile()}
    config_name = next(name for name in members if name.endswith(".json") and name != "manifest.json")
    members[config_name] = members[config_name].replace(b'"Env": []', b'"Env": ["A=\\ud800"]')
    from tests.hostile.harness import tar_members

    tar_members(archive, list(members.items()))
    run = run_cli(tmp_path, "scan", f"docker-archive:{archive}")
    check(run, tmp_path, codes=(2,))
