"""Decide how to look at one file: credential file by name, text, binary, or archive members.

Files are read as streams in chunks that overlap at a line boundary, so memory stays bounded
whatever the file size (credential files too: their name decides, a sample of their head
feeds the content check). Archives (``.zip``/``.jar``/``.whl``/``.tar(.gz)``/``.gz``) are opened
to a bounded depth, inside archives too, and their members reported as ``outer!member``.
Every limit that stops reading leaves a note in the report (:class:`Limits`).
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import BinaryIO

from hubguard.detect.chunks import CHUNK, MIB, SNIFF, is_binary, stream_chunks
from hubguard.detect.decoders import decode
from hubguard.detect.engine import Detector, Hit
from hubguard.detect.names import name_guard
from hubguard.gunzip import GZIP_ERRORS, gzip_reader
from hubguard.model import redact
from hubguard.sources.blobs import CappedTarInfo

NESTED_ARCHIVE_LIMIT = 16 * MIB  # an archive inside an archive is opened in memory up to this size
CREDENTIAL_FILE_LIMIT = 4 * MIB  # how much of a credential file its content rule looks at


@dataclass(frozen=True)
class Limits:
    """How far hubguard reads into archives; each limit reached leaves a note in the report."""

    archive_bytes: int = 64 * MIB  # a larger archive file is scanned as plain bytes, not opened
    depth: int = 3  # archives inside archives are opened this many levels deep
    budget_bytes: int = 256 * MIB  # decompressed bytes read from all members of one file, all levels

    def salt(self) -> str:
        return f"archive={self.archive_bytes},depth={self.depth},budget={self.budget_bytes}"


DEFAULT_LIMITS = Limits()

ZIP_SUFFIXES = (".zip", ".jar", ".war", ".ear", ".whl", ".apk", ".nupkg")
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz")


@dataclass
class FileResult:
    hits: list[Hit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sample: Sample | None = None  # the file's head and hash, for credential-file rules


class Sample:
    """Passes a stream through, keeping its head (never the whole file) and, if asked, its SHA-1."""

    def __init__(self, reader: BinaryIO, keep: int = CREDENTIAL_FILE_LIMIT, *, hashing: bool = True) -> None:
        self.reader = reader
        self._sha1 = hashlib.sha1() if hashing else None
        self.head = b""
        self.size = 0
        self._keep = keep

    def sha1_hex(self) -> str:
        assert self._sha1 is not None, "only a sample made with hashing=True has a SHA-1"
        return self._sha1.hexdigest()

    def read(self, size: int = -1) -> bytes:
        data = self.reader.read(size)
        if self._sha1 is not None:
            self._sha1.update(data)
        self.size += len(data)
        if len(self.head) < self._keep:
            self.head += data[: self._keep - len(self.head)]
        return data

    def drain(self) -> Sample:
        while self.read(CHUNK):
            pass
        return self

    def preview(self) -> str:
        """The redacted preview a credential-file finding shows."""
        text = self.head.decode("utf-8", "replace")
        return redact(text.strip() if self.size == len(self.head) else text.lstrip())


def is_archive_name(path: str) -> bool:
    lowered = path.lower()
    return lowered.endswith(ZIP_SUFFIXES + TAR_SUFFIXES) or (
        lowered.endswith(".gz") and not lowered.endswith(".tar.gz")
    )


def reads_whole(path: str, size: int, limits: Limits = DEFAULT_LIMITS) -> bool:
    """Whether a file larger than a chunk still goes to ``inspect_file`` whole: an archive to
    open. Any other large file is scanned chunk by chunk (``stream_chunks``)."""
    return is_archive_name(path) and size <= limits.archive_bytes


def oversize_notes(path: str, size: int, limits: Limits = DEFAULT_LIMITS) -> list[str]:
    """What a chunked scan of a large file leaves out: an archive too large to open."""
    if not is_archive_name(path):
        return []
    return [
        f"{path}: archive of {_size(size)} not opened (limit {_size(limits.archive_bytes)}); "
        "scanned as plain bytes"
    ]


def inspect_file(
    detector: Detector,
    path: str,
    size: int,
    reader: BinaryIO,
    limits: Limits = DEFAULT_LIMITS,
    *,
    hashing: bool = False,
) -> FileResult:
    """Every hit in one file, its archive members and its credential-file rules."""
    result = FileResult()
    name_rules = detector.rules.file_rules_named(path)
    sample = Sample(reader, hashing=hashing or bool(name_rules))  # hashing every file cost 7 %
    result.sample = sample
    if is_archive_name(path) and size <= limits.archive_bytes:
        data = sample.read()
        budget = _Budget(limits.budget_bytes)
        if not _members(detector, path, data, result, 1, budget, limits):
            result.hits.extend(scan_bytes(detector, data, path))  # not a readable archive after all
    else:
        if is_archive_name(path):
            result.notes.append(
                f"{path}: archive of {_size(size)} not opened (limit {_size(limits.archive_bytes)}); "
                "scanned as plain bytes"
            )
        result.hits.extend(scan_stream(detector, sample, path))
        sample.drain()
    if name_rules:
        _credential_file(detector, path, sample, name_rules, result)
    return result


def inspect_bytes(detector: Detector, path: str, data: bytes, limits: Limits = DEFAULT_LIMITS) -> FileResult:
    """:func:`inspect_file` of a file whose bytes are at hand (a worker's whole-file job): an
    ordinary small file goes straight to the scan its one chunk would get, not through a
    stream and a sample (a third of a small file's cost)."""
    if len(data) < CHUNK and not is_archive_name(path) and not detector.rules.file_rules_named(path):
        return FileResult(hits=scan_bytes(detector, data, path))
    return inspect_file(detector, path, len(data), io.BytesIO(data), limits)


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


def scan_stream(detector: Detector, reader: BinaryIO | Sample, path: str) -> list[Hit]:
    """Chunked scan: whole lines per chunk, the unfinished last line carried into the next."""
    hits: dict[tuple[str, str], Hit] = {}
    for body, line_no, binary, _ in stream_chunks(reader):
        if line_no == 0:
            return scan_bytes(detector, body, path)  # the whole file fits in one chunk
        found = detector.scan_binary(body, path) if binary else detector.scan_text(body, path, line_no)
        for hit in found:
            hits.setdefault(detector.identity(hit), hit)
    return list(hits.values())


def _credential_file(detector: Detector, path: str, sample: Sample, rules: list, result: FileResult) -> None:
    """A credential file is a finding by its name, even when no token format matches inside.

    Only one finding per file, and none when a token rule already reported the secret in it.
    """
    if any(hit.path == path for hit in result.hits) or detector.rules.path_allowed(path):
        return
    for rule in sorted(rules, key=lambda rule: -rule.severity):
        if not rule.matches_content(sample.head, lambda value: detector.rules.allowed(value, path)):
            continue
        result.hits.append(
            Hit(rule.id, rule.title, rule.severity, path, None, sample.sha1_hex(), sample.preview())
        )
        return


@dataclass
class _Budget:
    """Decompressed bytes still allowed for one top-level file, across every nesting level."""

    left: int
    noted: bool = False


class _Capped:
    """A member stream cut off where the budget runs out; ``cut`` says whether anything was left."""

    def __init__(self, reader: BinaryIO, budget: _Budget) -> None:
        self.reader, self.budget, self.cut, self.read_bytes = reader, budget, False, 0

    def read(self, size: int = -1) -> bytes:
        allowed = self.budget.left if size < 0 else min(size, self.budget.left)
        if allowed <= 0:
            self.cut = self.cut or bool(self.reader.read(1))
            return b""
        data = self.reader.read(allowed)
        self.budget.left -= len(data)
        self.read_bytes += len(data)
        return data


def _members(
    detector: Detector,
    path: str,
    data: bytes,
    result: FileResult,
    depth: int,
    budget: _Budget,
    limits: Limits,
) -> bool:
    """Scan each member as ``path!member``, archives in archives down to ``limits.depth``;
    False if ``data`` is not a readable archive."""
    names = name_guard(detector.rules)
    name_hits: dict[tuple[str, str], Hit] = {}
    try:
        members = _archive_members(path, data)
        for name, size, stream in members:
            member_path = f"{path}!{names.shown(name, name_hits)}"
            if budget.left <= 0:
                result.notes.append(
                    f"{path}: members past the {_size(limits.budget_bytes)} archive budget not scanned"
                )
                members.close()
                return True
            try:
                _member(detector, member_path, size, stream, result, depth, budget, limits)
            except _UNREADABLE as exc:
                result.notes.append(f"{member_path}: member not readable ({_reason(exc)}); not scanned")
    except _UNREADABLE as exc:
        result.notes.append(f"{path}: archive not readable ({_reason(exc)}); scanned as bytes only")
        return False
    finally:
        result.hits.extend(name_hits.values())
    return True


def _member(
    detector: Detector,
    member_path: str,
    size: int | None,
    stream: BinaryIO,
    result: FileResult,
    depth: int,
    budget: _Budget,
    limits: Limits,
) -> None:
    name_rules = detector.rules.file_rules_named(member_path.rsplit("!", 1)[-1])
    capped = _Capped(stream, budget)
    sample = Sample(capped, hashing=bool(name_rules))  # type: ignore[arg-type]
    if is_archive_name(member_path) and size is not None and size <= NESTED_ARCHIVE_LIMIT:
        if depth < limits.depth:
            data = sample.read()
            if not capped.cut and _members(detector, member_path, data, result, depth + 1, budget, limits):
                if name_rules:
                    _credential_file(detector, member_path, sample, name_rules, result)
                return
            result.hits.extend(scan_bytes(detector, data, member_path))
        else:
            result.notes.append(
                f"{member_path}: archive nested deeper than {limits.depth} levels not opened; "
                "scanned as plain bytes"
            )
            result.hits.extend(scan_stream(detector, sample, member_path))
    else:
        if is_archive_name(member_path):
            result.notes.append(
                f"{member_path}: archive of {_size(size)} inside an archive not opened "
                f"(limit {_size(NESTED_ARCHIVE_LIMIT)}); scanned as plain bytes"
            )
        result.hits.extend(scan_stream(detector, sample, member_path))
    sample.drain()
    if capped.cut:
        of = f" of {_size(size)}" if size is not None else ""
        result.notes.append(
            f"{member_path}: only the first {_size(capped.read_bytes)}{of} were scanned "
            f"(archive budget {_size(limits.budget_bytes)})"
        )
    if name_rules:
        _credential_file(detector, member_path, sample, name_rules, result)


_UNREADABLE = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    tarfile.TarError,
    OSError,
    EOFError,
    *GZIP_ERRORS,
    ValueError,
    RuntimeError,  # an encrypted zip member
    NotImplementedError,  # an unsupported zip compression method
)


def _archive_members(path: str, data: bytes) -> Iterator[tuple[str, int | None, BinaryIO]]:
    """(name, size if known, stream) for each regular member."""
    lowered = path.lower()
    if lowered.endswith(ZIP_SUFFIXES) or data.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                if not info.is_dir():
                    with archive.open(info) as member:
                        yield info.filename, info.file_size, member  # type: ignore[misc]
    elif lowered.endswith(TAR_SUFFIXES):
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*", tarinfo=CappedTarInfo) as archive:  # type: ignore[call-overload]
            for info in archive:
                archive.members.clear()
                if info.isreg():
                    member = archive.extractfile(info)
                    if member is not None:
                        yield info.name, info.size, member  # type: ignore[misc]
    else:  # a single gzip-compressed file; its trailer gives the size (modulo 4 GiB)
        size = int.from_bytes(data[-4:], "little") if len(data) >= 18 else None
        with gzip_reader(io.BytesIO(data)) as member:
            yield path.rsplit("/", 1)[-1].rsplit("!", 1)[-1][: -len(".gz")], size, member  # type: ignore[misc]


def _size(count: int | None) -> str:
    if count is None:
        return "an unknown size"
    if count >= MIB and count % MIB == 0:
        return f"{count // MIB} MiB"
    if count >= MIB:
        return f"{count / MIB:.1f} MiB"
    return f"{count} bytes"


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
