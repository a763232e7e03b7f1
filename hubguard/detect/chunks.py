"""Cut a file into chunks that can be scanned apart, in other processes too, and tell binary
from text by its first bytes.

Text chunks end after a line end, so no line is split. Binary chunks are cut every ``CHUNK``
bytes and each cut gets a seam: the ``OVERLAP`` bytes either side of it, scanned as a chunk of
its own (a hit found twice collapses by its hash). Binary cuts depend on the size alone, so a
file read in place is cut without being read (:func:`binary_spans`), and a streamed one is
scanned as read, never copied into overlapping chunks.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

MIB = 1024 * 1024
CHUNK = 8 * MIB
OVERLAP = 64 * 1024  # a partial last line carried into the next chunk; half a binary seam
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
    """``(offset, length)`` of the chunks and seams :func:`stream_chunks` cuts a binary file
    of ``size`` bytes (at least one chunk) into, known without reading it."""
    for start in range(0, size, CHUNK):
        yield start, min(CHUNK, size - start)
        cut = start + CHUNK
        if cut < size:
            yield cut - OVERLAP, OVERLAP + min(OVERLAP, size - cut)


def stream_chunks(reader: BinaryIO, head: bytes = b"") -> Iterator[tuple[bytes, int, bool, int]]:
    """``(body, first line number, binary, offset in the file)`` per chunk of a file, so chunks
    can be scanned apart (by other processes, too): text cut after a line end, binary every
    ``CHUNK`` bytes with a seam after each cut. A file that fits in one chunk is yielded whole
    with line number 0: it is scanned like any small file."""
    first = head + reader.read(CHUNK - len(head))
    if len(first) < CHUNK:
        yield first, 0, False, 0
    elif is_binary(first[:SNIFF]):
        yield from _binary_chunks(reader, first)
    else:
        yield from _text_chunks(reader, first)


def _binary_chunks(reader: BinaryIO, chunk: bytes) -> Iterator[tuple[bytes, int, bool, int]]:
    """Each chunk as read, then the seam of its cut (see :func:`binary_spans`); line 1 for all:
    a binary hit has no line."""
    start = 0
    while chunk:
        following = reader.read(CHUNK)
        yield chunk, 1, True, start
        if following:
            seam = b"".join((memoryview(chunk)[-OVERLAP:], memoryview(following)[:OVERLAP]))
            yield seam, 1, True, start + len(chunk) - OVERLAP
        start += len(chunk)
        chunk = following


def _text_chunks(reader: BinaryIO, chunk: bytes) -> Iterator[tuple[bytes, int, bool, int]]:
    """Chunks cut after the last line end in their last ``OVERLAP`` bytes, the rest carried
    into the next; with no line end there (one long line), the whole chunk, its last
    ``OVERLAP`` bytes carried as an overlap (hits found twice collapse by hash)."""
    line_no, start, carry = 1, 0, b""
    while chunk:
        following = reader.read(CHUNK)
        cut = chunk.rfind(b"\n", max(0, len(chunk) - OVERLAP)) + 1 if following else len(chunk)
        if not cut:
            body = carry + chunk
            rest = body[-OVERLAP:]
        elif carry or cut < len(chunk):  # one copy: what is carried and the chunk up to the cut
            body, rest = b"".join((carry, memoryview(chunk)[:cut])), chunk[cut:]
        else:
            body, rest = chunk, b""
        yield body, line_no, False, start
        line_no += body.count(b"\n")
        start += len(body) - (0 if cut else len(rest))
        chunk, carry = following, rest
