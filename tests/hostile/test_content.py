"""Hostile file contents inside layers and contexts: archives in archives, long compressed
streams, bombs and huge credential files. Each runs the real CLI."""

from __future__ import annotations

import gzip
import io
import json
import os
import zipfile
import zlib

from tests.hostile.harness import check, layer, legacy_archive, reported, run_cli, token

MIB = 1024 * 1024


def scan_layer(tmp, files, *extra):
    data = layer(files)
    archive = legacy_archive(tmp / "image.tar", [data])
    return run_cli(tmp, "scan", f"docker-archive:{archive}", "--format", "json", *extra)


def zipped(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return out.getvalue()


# --- 3. limits leave notes; nested archives are opened to a depth ---------------------------------


def test_a_token_after_20_mib_of_a_gz_is_found(tmp_path):
    secret = token()
    text = b"# filler line\n" * (20 * MIB // 14) + f"GITHUB_TOKEN={secret}\n".encode()
    run = scan_layer(tmp_path, {"app/dump.sql.gz": gzip.compress(text, compresslevel=1, mtime=0)})
    check(run, tmp_path, [secret], codes=(1,))
    assert reported(run, secret)


def test_the_archive_budget_leaves_a_note_naming_what_was_not_read(tmp_path):
    text = b"# filler line\n" * (3 * MIB // 14)
    run = scan_layer(tmp_path, {"app/x.gz": gzip.compress(text, mtime=0)}, "--archive-budget", "1")
    check(run, tmp_path, codes=(0,))
    assert "/app/x.gz!x: only the first 1 MiB of 3.0 MiB were scanned" in run.stdout


def test_archives_inside_archives_are_opened_three_levels_deep(tmp_path):
    secret = token("xoxb-{digit:12}-{digit:13}-{alnum:24}")
    inner = zipped("application.properties", f"slack.token={secret}\n".encode())
    middle = zipped("lib/inner.jar", inner)
    outer = zipped("BOOT-INF/lib/middle.jar", middle)
    run = scan_layer(tmp_path, {"app/outer.jar": outer})
    check(run, tmp_path, [secret], codes=(1,))
    assert reported(run, secret)
    paths = [f["path"] for f in json.loads(run.stdout)["findings"]]
    assert "/app/outer.jar!BOOT-INF/lib/middle.jar!lib/inner.jar!application.properties" in paths


def test_an_archive_deeper_than_the_limit_leaves_a_note(tmp_path):
    deepest = zipped("a.txt", b"nothing here\n")
    for level in range(3):
        deepest = zipped(f"l{level}.jar", deepest)
    run = scan_layer(tmp_path, {"app/x.jar": deepest})
    check(run, tmp_path, codes=(0,))
    assert "nested deeper than 3 levels not opened" in run.stdout


def test_a_zip_bomb_in_a_layer_is_bounded_and_noted(tmp_path):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for number in range(3):
            archive.writestr(f"bomb{number}.txt", b"\0" * (100 * MIB))
    run = scan_layer(tmp_path, {"app/bomb.zip": out.getvalue()}, "--archive-budget", "64")
    check(run, tmp_path, codes=(0,))
    assert "archive budget" in run.stdout


def test_an_encrypted_or_corrupt_zip_member_is_a_note_not_a_crash(tmp_path):
    data = bytearray(zipped("a.txt", b"x" * 1000))
    data[6] |= 0x1  # the encrypted flag of the local header
    central = data.rfind(b"PK\x01\x02")
    data[central + 8] |= 0x1
    run = scan_layer(tmp_path, {"app/x.zip": bytes(data), "app/y.jar": b"PK\x03\x04" + os.urandom(200)})
    check(run, tmp_path, codes=(0,))


# --- 14. credential-file names are streamed, never read whole -----------------------------------


def _gzip_stream(header_and_data: list[bytes]) -> bytes:
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
    return b"".join([*(compressor.compress(part) for part in header_and_data), compressor.flush()])


def test_a_huge_json_file_in_a_layer_is_streamed(tmp_path):
    import hashlib
    import tarfile

    size = 400 * MIB
    info = tarfile.TarInfo("app/data.json")
    info.size = size
    chunk = b" " * (8 * MIB)
    parts = [info.tobuf()] + [chunk] * (size // len(chunk)) + [b"\0" * 1024]
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + digest.hexdigest()]},
        "history": [{"created_by": "COPY data.json /app/"}],
    }
    archive = legacy_archive(tmp_path / "image.tar", [_gzip_stream(parts)], config=config)
    run = run_cli(tmp_path, "scan", f"docker-archive:{archive}", "--format", "json")
    check(run, tmp_path, codes=(0, 1))


def test_a_huge_dotenv_in_a_context_is_streamed(tmp_path):
    secret = token()
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM scratch\nCOPY . /\n")
    with open(context / ".env", "wb") as out:
        out.truncate(600 * MIB)  # a hole: 600 MiB of NULs that take no disk
        out.seek(0, os.SEEK_END)
        out.write(f"\nGITHUB_TOKEN={secret}\n".encode())
    run = run_cli(tmp_path, "context", str(context), "--format", "json")
    check(run, tmp_path, [secret], codes=(1,))


def test_a_big_archive_inside_an_archive_is_scanned_as_bytes_with_a_note(tmp_path):
    secret = token("AKIA{upalnum:16}")
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("big.bin", os.urandom(17 * MIB) + b"\n" + secret.encode() + b"\n")
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("lib/inner.jar", inner.getvalue())
    run = scan_layer(tmp_path, {"app/x.jar": outer.getvalue()})
    check(run, tmp_path, [secret], codes=(1,))
    assert reported(run, secret)  # a stored member's bytes still show the token
    assert "/app/x.jar!lib/inner.jar: archive of 17.0 MiB inside an archive not opened" in run.stdout
