"""A layer's files reach the workers as bytes or, from a plain tar on disk, by where they lie;
either way the report is the same, seams between chunks included, and the owner model still
gets the digests of the large files that hold a hit."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import os

import pytest

from examples.save_archive import layer_tar
from hubguard.detect.chunks import CHUNK
from hubguard.errors import ScanIncomplete
from hubguard.model import hash_secret
from hubguard.scan import Scanner, ScanOptions
from hubguard.sources.blobs import BlobRef
from hubguard.workers import Fanout
from tests.sources.test_scan import write_single_layer_archive

TEXT_PATH = "usr/share/app/big.txt"


def big_text(tokens: dict[int, str]) -> bytes:
    """Over one chunk of text lines, a token on each line number given."""
    lines, size, number = [], 0, 1
    while size <= CHUNK + CHUNK // 2:
        lines.append(f"gitlab = {tokens[number]}\n" if number in tokens else f"filler line {number}\n")
        size += len(lines[-1])
        number += 1
    return "".join(lines).encode()


def big_binary(tokens: dict[int, str], size: int) -> bytes:
    """An ELF-looking file of ``size`` bytes with each token put at the offset given."""
    data = bytearray(b"\x7fELF" + os.urandom(size - 4))
    for offset, token in tokens.items():
        data[offset - 1 : offset + len(token) + 1] = b"\0" + token.encode() + b"\0"
    return bytes(data)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    from tests.fakes import expand

    def token(template: str) -> str:
        return expand(template, os.urandom(8).hex())  # a fresh fake token per call

    # Text tokens on lines that fall on both sides of the first chunk's end, binary tokens
    # across the binary seams (a chunk ends at CHUNK; the next starts OVERLAP before it).
    text_tokens = {number: token("glpat-{alnum:20}") for number in (3, 400_000, 420_000, 500_000, 610_000)}
    binary_tokens = {
        offset: token("AKIA{upalnum:16}") for offset in (100, CHUNK - 10, 2 * CHUNK - 5, 3 * CHUNK)
    }
    files = {
        "app/settings.py": f'API = "{token("ghp_{alnum:36}")}"\n'.encode(),
        TEXT_PATH: big_text(text_tokens),
        "usr/lib/app/libbig.so": big_binary(binary_tokens, 3 * CHUNK + 4096),
    }
    expected = {hash_secret(value) for value in [*text_tokens.values(), *binary_tokens.values()]}
    expected.add(hash_secret(files["app/settings.py"].decode().split('"')[1]))
    return tmp_path_factory.mktemp("layer-reader"), files, expected, text_tokens


def scan(archive, jobs: int):
    return Scanner(ScanOptions(use_cache=False, jobs=jobs)).scan([f"docker-archive:{archive}"])


def found(report) -> set[tuple[str, str, int | None]]:
    return {(f.path, f.fingerprint, f.line if not f.path.endswith(".so") else None) for f in report.findings}


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_workers_find_the_same_whether_sent_bytes_or_where_they_lie(planted, monkeypatch, compressed):
    tmp_path, files, expected, text_tokens = planted
    layer = layer_tar(files)
    directory = tmp_path / ("gzip" if compressed else "plain")
    directory.mkdir()
    blob = gzip.compress(layer, 1) if compressed else layer
    archive = write_single_layer_archive(directory, blob, "sha256:" + hashlib.sha256(layer).hexdigest())
    inline = scan(archive, 1)
    sent: list[object] = []
    real_submit = Fanout.submit

    def recording_submit(self, key, job, size, **options):
        sent.append(job[2])
        real_submit(self, key, job, size, **options)

    monkeypatch.setattr(Fanout, "submit", recording_submit)
    fanned = scan(archive, 2)
    assert {f.hashed_secret for f in fanned.findings} == expected  # every token, seams included
    assert found(fanned) == found(inline)
    lines = {f.line for f in fanned.findings if f.path == "/" + TEXT_PATH}
    assert lines == set(text_tokens)
    # A plain tar on disk: every file went by reference, no file's bytes through the pipe.
    by_reference = [isinstance(body, BlobRef) for body in sent]
    assert all(by_reference) if not compressed else not any(by_reference)


def test_large_files_read_in_place_are_digested_for_their_owner_when_they_hold_a_hit(planted):
    """A large file sent by reference is hashed only if it holds a hit, and then its package's
    md5 still decides: unchanged, it is the distro's; changed after install, it is the user's."""
    tmp_path, files, _, _ = planted
    text = files[TEXT_PATH]
    changed = text.replace(b"filler line 7\n", b"filler line 7!\n")
    md5sums = f"{hashlib.md5(text).hexdigest()}  {TEXT_PATH}\n"
    md5sums += f"{hashlib.md5(text).hexdigest()}  usr/share/app/changed.txt\n"
    layer = layer_tar(
        {
            "var/lib/dpkg/status": b"Package: app\nStatus: install ok installed\nDescription: x\n\n",
            "var/lib/dpkg/info/app:amd64.md5sums": md5sums.encode(),
            TEXT_PATH: text,
            "usr/share/app/changed.txt": changed,
        }
    )
    directory = tmp_path / "owned"
    directory.mkdir()
    archive = write_single_layer_archive(directory, layer)
    for jobs in (1, 2):
        owners = {(f.path, f.owner.kind) for f in scan(archive, jobs).findings if f.owner is not None}
        assert owners == {("/" + TEXT_PATH, "distro"), ("/usr/share/app/changed.txt", "own")}, jobs


def test_a_file_gone_before_a_worker_reads_it_makes_the_scan_incomplete(planted, monkeypatch):
    tmp_path, files, _, _ = planted
    directory = tmp_path / "gone"
    directory.mkdir()
    archive = write_single_layer_archive(directory, layer_tar(files))
    real_part = BlobRef.part
    monkeypatch.setattr(
        BlobRef, "part", lambda ref, *a: dataclasses.replace(real_part(ref, *a), path="/nonexistent")
    )
    with pytest.raises(ScanIncomplete, match="cannot read /nonexistent again"):
        scan(archive, 2)
