"""Cut a file into chunks that can be scanned apart, in other processes too, and tell binary
from text by its first bytes.

Text chunks end after a line end, so no line is split; binary chunks overlap by ``OVERLAP``
bytes instead (a hit found twice collapses by its hash). Binary cuts depend on the size
alone, so a file read in place is cut without being read (:func:`binary_spans`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

MIB = 1024 * 1024
CHUNK = 8 * MIB
OVERLAP = 64 * 1024  # a partial last line carried into the next chunk
SNIFF = 8192

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


def is_binary(head: bytes) -> bool:
    """By the first bytes: a known magic number, or a NUL byte in the first 8 KiB."""
    return head.startswith(BINARY_MAGIC) or head[4:8] == b"ftyp" or b"\0" in head[:SNIFF]


def binary_spans(size: int) -> Iterator[tuple[int, int]]:
    """``(offset, length)`` of the chunks :func:`stream_chunks` cuts a binary file of ``size``
    bytes (at least one chunk) into, known without reading it."""
    start, end = 0, CHUNK
    while True:
        yield start, end - start
        if end >= size:
            return
        start, end = end - OVERLAP, min(end + CHUNK, size)


def stream_chunks(reader: BinaryIO, head: bytes = b"") -> Iterator[tuple[bytes, int, bool, int]]:
    """``(body, first line number, binary, offset in the file)`` per chunk of a file, cut after
    a line end so chunks can be scanned apart (by other processes, too). A file that fits in
    one chunk is yielded whole with line number 0: it is scanned like any small file."""
    first = head + reader.read(CHUNK - len(head))
    if len(first) < CHUNK:
        yield first, 0, False, 0
        return
    binary = is_binary(first[:SNIFF])
    line_no, chunk, carry, start = 1, first, b"", 0
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
        yield body, line_no, binary, start
        line_no += body.count(b"\n")
        start += len(data) - len(carry)
