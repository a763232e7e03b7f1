"""Decide how to look at one file: credential file by name, text, binary, or archive members.

Large files are read in chunks that overlap at a line boundary, so memory stays bounded
whatever the file size. Archives (``.zip``/``.jar``/``.whl``/``.tar(.gz)``/``.gz``) are opened one
level deep, within size limits, and their members reported as ``outer!member``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import BinaryIO

from hubguard.detect.decoders import decode
from hubguard.detect.engine import Detector, Hit
from hubguard.model import redact

CHUNK = 8 * 1024 * 1024
OVERLAP = 64 * 1024  # a partial last line carried into the next chunk
SNIFF = 8192
ARCHIVE_LIMIT = 64 * 1024 * 1024  # an archive larger than this is scanned as a binary only
MEMBER_LIMIT = 16 * 1024 * 1024  # per member, decompressed
ARCHIVE_TOTAL_LIMIT = 128 * 1024 * 1024  # all members of one archive, decompressed
CREDENTIAL_FILE_LIMIT = 4 * 1024 * 1024

ZIP_SUFFIXES = (".zip", ".jar", ".war", ".ear", ".whl", ".apk", ".nupkg")
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz")
BINARY_MAGIC = (
    b"\x7fELF",  # ELF
    b"MZ",  # PE
    b"\xfe\xed\xfa\xce",  # Mach-O
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",  # Mach-O fat / Java class
    b"\x89PNG",
    b"\xff\xd8\xff",  # JPEG
    b"GIF8",
    b"RIFF",  # WebP, WAV, AVI
    b"\x00\x00\x01\x00",  # ICO
    b"wOFF",
    b"wOF2",
    b"\x00\x01\x00\x00",  # TrueType
    b"OTTO",
    b"ID3",  # MP3
    b"OggS",
    b"fLaC",
    b"%PDF",
    b"\x1f\x8b",  # gzip (not a member archive: scanned as binary)
    b"\x28\xb5\x2f\xfd",  # zstd
    b"\xfd7zXZ",  # xz
    b"BZh",
    b"PK\x03\x04",
    b"\x00asm",  # WebAssembly
)


@dataclass
class FileResult:
    hits: list[Hit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def is_binary(head: bytes) -> bool:
    """By the first bytes: a known magic number, or a NUL byte in the first 8 KiB."""
    return head.startswith(BINARY_MAGIC) or head[4:8] == b"ftyp" or b"\0" in head[:SNIFF]


def inspect_file(detector: Detector, path: str, size: int, reader: BinaryIO) -> FileResult:
    """Every hit in one file, its archive members and its credential-file rules."""
    result = FileResult()
    name_rules = detector.rules.file_rules_named(path)
    lowered = path.lower()
    is_archive = lowered.endswith(ZIP_SUFFIXES + TAR_SUFFIXES) or (
        lowered.endswith(".gz") and not lowered.endswith(".tar.gz")
    )
    if is_archive and size <= ARCHIVE_LIMIT:
        data = reader.read()
        if not _members(detector, path, data, result):
            result.hits.extend(scan_bytes(detector, data, path))  # not a readable archive after all
        _credential_file(detector, path, data, name_rules, result)
        return result
    if name_rules:
        data = reader.read()
        result.hits.extend(scan_bytes(detector, data, path))
        _credential_file(detector, path, data, name_rules, result)
        return result
    if is_archive:
        result.notes.append(f"{path}: archive of {size} bytes not opened (limit {ARCHIVE_LIMIT})")
    result.hits.extend(scan_stream(detector, reader, path))
    return result


def scan_bytes(detector: Detector, data: bytes, path: str) -> list[Hit]:
    decoded = decode(path, data)  # UTF-16 text, Kubernetes Secret data, .pyc strings
    hits = [
        hit if same_lines else replace(hit, line=None)
        for text, same_lines in decoded.views
        for hit in detector.scan_text(text, path)
    ]
    if is_binary(decoded.raw[:SNIFF]):
        return hits + detector.scan_binary(decoded.raw, path)
    return hits + detector.scan_text(decoded.raw, path)


def scan_stream(detector: Detector, reader: BinaryIO, path: str) -> list[Hit]:
    """Chunked scan: whole lines per chunk, the unfinished last line carried into the next."""
    first = reader.read(CHUNK)
    if len(first) < CHUNK:
        return scan_bytes(detector, first, path)
    binary = is_binary(first[:SNIFF])
    hits: dict[tuple[str, str], Hit] = {}
    line_no, chunk, carry = 1, first, b""
    while chunk:
        data = carry + chunk
        chunk = reader.read(CHUNK)
        if not chunk:
            body, carry = data, b""
        else:
            # Text: cut after the last line end near the tail. Binary, or no line end there:
            # scan it all and carry an overlap (hits found twice collapse by hash).
            cut = 0 if binary else data.rfind(b"\n", max(0, len(data) - OVERLAP)) + 1
            body, carry = (data[:cut], data[cut:]) if cut else (data, data[-OVERLAP:])
        found = detector.scan_binary(body, path) if binary else detector.scan_text(body, path, line_no)
        for hit in found:
            hits.setdefault((hit.rule_id, hit.hashed_secret), hit)
        line_no += body.count(b"\n")
    return list(hits.values())


def _credential_file(detector: Detector, path: str, data: bytes, rules: list, result: FileResult) -> None:
    """A credential file is a finding by its name, even when no token format matches inside.

    Only one finding per file, and none when a token rule already reported the secret in it.
    """
    if any(hit.path == path for hit in result.hits) or detector.rules.path_allowed(path):
        return
    for rule in sorted(rules, key=lambda rule: -rule.severity):
        if not rule.matches_content(
            data[:CREDENTIAL_FILE_LIMIT], lambda value: detector.rules.allowed(value, path)
        ):
            continue
        text = data.decode("utf-8", "replace")
        result.hits.append(
            Hit(
                rule.id,
                rule.title,
                rule.severity,
                path,
                None,
                hashlib.sha1(data).hexdigest(),
                redact(text.strip()),
            )
        )
        return


def _members(detector: Detector, path: str, data: bytes, result: FileResult) -> bool:
    """Scan each member as ``path!member``; False if ``data`` is not a readable archive."""
    budget = ARCHIVE_TOTAL_LIMIT
    try:
        for name, member in _archive_members(path, data):
            if budget <= 0:
                result.notes.append(f"{path}: members past {ARCHIVE_TOTAL_LIMIT} bytes not scanned")
                return True
            budget -= len(member)
            member_path = f"{path}!{name}"
            name_rules = detector.rules.file_rules_named(name)
            result.hits.extend(scan_bytes(detector, member, member_path))
            _credential_file(detector, member_path, member, name_rules, result)
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError, zlib.error, ValueError) as exc:
        result.notes.append(f"{path}: archive not readable ({exc}); scanned as bytes only")
        return False
    return True


def _archive_members(path: str, data: bytes) -> Iterator[tuple[str, bytes]]:
    lowered = path.lower()
    if lowered.endswith(ZIP_SUFFIXES) or data.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                if not info.is_dir():
                    with archive.open(info) as member:
                        yield info.filename, member.read(MEMBER_LIMIT)
    elif lowered.endswith(TAR_SUFFIXES):
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            for info in archive:
                if info.isreg():
                    member = archive.extractfile(info)
                    if member is not None:
                        yield info.name, member.read(MEMBER_LIMIT)
    else:  # a single gzip-compressed file
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as member:
            yield path.rsplit("/", 1)[-1][: -len(".gz")], member.read(MEMBER_LIMIT)
