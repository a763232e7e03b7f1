"""Read one layer tar in a single sequential pass and hand its files to the detection workers.

The reading process parses the tar, hashes it (the layer's digest is checked as it is read),
keeps what the owner model needs and sends each file to a worker in batches. A file of a
plain tar on disk is sent by reference (where its bytes lie), and the worker reads it there:
a gigabyte layer's bytes no longer pass through a pipe, and a large binary file is cut into
chunks by its size alone, so the reading process never copies it. A streamed or compressed
layer's files are sent as bytes.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import BinaryIO

from hubguard.detect.chunks import CHUNK, SNIFF, binary_spans, is_binary, stream_chunks
from hubguard.detect.content import Limits, inspect_bytes, inspect_file, oversize_notes, reads_whole
from hubguard.detect.engine import Detector, Hit
from hubguard.detect.names import name_guard
from hubguard.detect.rules import RuleSet
from hubguard.hashing import HashThread
from hubguard.owners import DigestingReader, is_database
from hubguard.owners.records import DATABASE_LIMIT, file_digests
from hubguard.scan_records import LayerScan
from hubguard.sources.blobs import BlobRef
from hubguard.sources.layers import Expected, LayerIndex, iter_layer_files
from hubguard.workers import Fanout

# What a worker is sent: (kind, path, the bytes or where they lie, first line number, binary).
Job = tuple[str, str, bytes | BlobRef, int, bool]
Result = tuple[list[Hit], list[str], dict[str, str]]  # hits, notes, digests of a file with hits


class LayerReader:
    """The reading side (:meth:`read`) and the workers' side (:meth:`detect`) of a layer scan."""

    def __init__(self, rules: RuleSet, detector: Detector, *, ownership: bool, limits: Limits) -> None:
        self.rules, self.detector = rules, detector
        self.ownership, self.limits = ownership, limits
        self.kept_open: dict[str, int] = {}  # a worker's open archives (empty in the reading process)

    def read(
        self,
        stream: BinaryIO,
        label: str,
        fanout: Fanout,
        expected: Expected | None = None,
        read: Callable[[int], None] | None = None,
        blob: BlobRef | None = None,
    ) -> LayerScan:
        """Read one layer tar (verified against ``expected`` as it is read) and hand its files to
        ``fanout``; hits arrive in the LayerScan as the batches finish (complete after
        ``fanout.finish()`` and :func:`digest_hit_files`). ``blob`` is where ``stream``'s bytes
        lie on disk, if they do. Package databases and the digests of large files are kept for
        the owner model; ``read(bytes)`` is told how far into the blob the read is, file by file."""
        names = name_guard(self.rules)
        name_hits: dict[tuple[str, str], Hit] = {}
        scan = LayerScan(LayerIndex(), [], [])
        blob_for_workers = blob if fanout.pool is not None else None  # inline, the bytes read are at hand
        with HashThread() as hashes:  # the layer digest and large files' digests, beside the read
            files = iter_layer_files(
                stream,
                scan.index,
                label,
                expected=expected,
                rename=lambda path: names.shown(path, name_hits),  # cached and shown redacted
                hashes=hashes,
                progress=read,
                blob=blob_for_workers,
            )
            streamed: list[tuple[str, DigestingReader]] = []  # large files, digests still being made
            for path, size, reader, place in files:
                if self.ownership and is_database(path) and size <= DATABASE_LIMIT:
                    data = reader.read()
                    scan.records.databases[path] = data.decode("utf-8", "replace")
                    reader = io.BytesIO(data)
                if self.rules.path_allowed(path):
                    continue
                if size <= CHUNK or reads_whole(path, size, self.limits):
                    job = ("file", path, place or reader.read(), 0, False)
                    fanout.submit(scan, job, size, carried=place is None)
                else:
                    digesting = self._read_large(scan, fanout, path, size, reader, hashes, place)
                    if digesting is not None:
                        streamed.append((path, digesting))
            for path, digesting in streamed:
                scan.records.digests[path] = digesting.digests()
        scan.hits.extend(name_hits.values())
        scan.raw_digest = expected.raw_digest if expected is not None else ""
        return scan

    def _read_large(
        self,
        scan: LayerScan,
        fanout: Fanout,
        path: str,
        size: int,
        reader: BinaryIO,
        hashes: HashThread,
        place: BlobRef | None,
    ) -> DigestingReader | None:
        """A file over one chunk: a credential file by its name is inspected here, anything else
        goes to the workers chunk by chunk (by reference when it lies in ``place``). Its digests
        are for the owner model: hashed as it is read (the reader returned gives them once the
        layer is read), or, in place, made later and only if it holds a hit."""
        digesting = None
        if self.ownership and place is not None:
            scan.in_place[path] = place
        elif self.ownership:
            digesting = DigestingReader(reader, hashes)
        source: BinaryIO = digesting or reader  # type: ignore[assignment]
        if self.rules.file_rules_named(path):
            result = inspect_file(self.detector, path, size, source, self.limits)
            scan.hits.extend(result.hits)
            scan.notes.extend(result.notes)
        else:
            scan.notes.extend(oversize_notes(path, size, self.limits))
            head = source.read(SNIFF)
            if place is not None and is_binary(head):  # cut by its size: never read here
                for start, length in binary_spans(size):
                    job = ("chunk", path, place.part(start, length), 1, True)
                    fanout.submit(scan, job, length, carried=False)
            else:
                for body, line_no, binary, start in stream_chunks(source, head):
                    kind = "chunk" if line_no else "file"  # line 0: it all fit in one chunk after all
                    sent = place.part(start, len(body)) if place is not None else body
                    fanout.submit(scan, (kind, path, sent, line_no, binary), len(body), carried=place is None)
        if digesting is not None:
            digesting.finish()
        return digesting

    def detect(self, job: Job) -> Result:
        """One job from :meth:`read` (in a worker): a whole file, or one chunk of a large one. A
        whole file with hits also gets its digests, for the owner model's package records."""
        kind, path, data, line_no, binary = job
        if isinstance(data, BlobRef):
            data = data.read_all(self.kept_open)
        if kind == "file":
            result = inspect_bytes(self.detector, path, data, self.limits)
            digests = file_digests(data) if result.hits and self.ownership else {}
            return result.hits, result.notes, digests
        if binary:
            return self.detector.scan_binary(data, path), [], {}
        return self.detector.scan_text(data, path, line_no), [], {}


def collect(scan: object, result: Result) -> None:
    """A worker's result into the layer's scan (``Fanout`` delivers them in order)."""
    assert isinstance(scan, LayerScan)
    hits, notes, digests = result
    scan.hits.extend(hits)
    scan.notes.extend(notes)
    if digests and hits:
        scan.records.digests[hits[0].path.split("!", 1)[0]] = digests


def digest_hit_files(scan: LayerScan) -> None:
    """The digests the owner model needs of large files read in place, made only for the ones
    with a hit (hashing every large file cost a second of a gigabyte layer)."""
    for path in sorted({hit.path.split("!", 1)[0] for hit in scan.hits} & scan.in_place.keys()):
        with scan.in_place[path].open() as stream:
            digesting = DigestingReader(stream)
            digesting.finish()
            scan.records.digests[path] = digesting.digests()
    scan.in_place.clear()
