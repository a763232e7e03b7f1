"""A lean, strict reader for one tar stream, read once from start to end.

``tarfile`` spent a third of a single-layer scan parsing headers (its pax handling, checksums
computed twice through ``struct``) and reading data 10 KiB at a time in stream mode. This reader
takes the stream in 1 MiB pieces and parses only what a layer scan needs: the name, the type,
the size and the link target. It reads the way the engine's own reader (Go's ``archive/tar``)
does: pax ``path``/``linkpath``/``size`` and GNU long names apply to the next member only, a
global pax header is not applied, header-only types (links, directories, devices) carry no data.
Where ``tarfile`` would quietly stop (a bad checksum, a header cut short, an unparsable number),
this reader fails the stream: a layer it cannot read entirely is not a layer it has scanned.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from hubguard.sources.blobs import MAX_NAME_HEADER, MAX_PAX_HEADER, HeaderTooLarge

BLOCK = 512
READ_SIZE = 1024 * 1024
ZERO_BLOCK = bytes(BLOCK)
POSIX_MAGIC = b"ustar\x0000"
REGULAR = frozenset((b"0", b"\0", b"7", b"S"))  # S: an old GNU sparse file, read as stored
HEADER_ONLY = frozenset((b"1", b"2", b"3", b"4", b"5", b"6"))
PAX_LOCAL = frozenset((b"x", b"X"))
NAME_TYPES = {b"L": "path", b"K": "linkpath"}  # GNU long name / long link name


class CorruptTar(ValueError):
    """The stream is not a well-formed tar: the layer cannot be read entirely."""


@dataclass(slots=True)
class Member:
    """One tar entry as the engine would extract it."""

    name: str
    kind: bytes  # the type flag
    size: int
    linkname: str

    def isreg(self) -> bool:
        return self.kind in REGULAR

    def isdir(self) -> bool:
        return self.kind == b"5"

    def islnk(self) -> bool:
        return self.kind == b"1"

    def issym(self) -> bool:
        return self.kind == b"2"


class _Blocks:
    """The stream read in large pieces, handed out in exact byte counts."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._buffer = b""
        self._position = 0
        self.handed_out = 0  # bytes of the stream taken so far (the buffer reads ahead of this)

    def take(self, size: int) -> bytes:
        """The next ``size`` bytes; fewer only where the stream ends."""
        start, end = self._position, self._position + size
        if end <= len(self._buffer):
            self._position = end
            self.handed_out += size
            return self._buffer[start:end]
        parts = [self._buffer[start:]]
        have = len(parts[0])
        self._buffer, self._position = b"", 0
        while have < size:
            piece = self._stream.read(max(size - have, READ_SIZE))
            if not piece:
                break
            need = size - have
            if len(piece) > need:
                parts.append(piece[:need])
                self._buffer, self._position = piece, need
                have = size
            else:
                parts.append(piece)
                have += len(piece)
        self.handed_out += have
        return b"".join(parts)

    def exactly(self, size: int, what: str) -> bytes:
        data = self.take(size)
        if len(data) != size:
            raise CorruptTar(f"unexpected end of data in {what}")
        return data

    def skip(self, size: int, what: str) -> None:
        """Pass over ``size`` bytes without copying them out (a layer's unread files are most of it)."""
        buffered = min(size, len(self._buffer) - self._position)
        self._position += buffered
        self.handed_out += buffered
        size -= buffered
        while size > 0:
            piece = self._stream.read(READ_SIZE)
            if not piece:
                raise CorruptTar(f"unexpected end of data in {what}")
            taken = min(size, len(piece))
            self._buffer, self._position = piece, taken
            self.handed_out += taken
            size -= taken


class MemberData:
    """A regular member's bytes; valid until the next member is asked for."""

    def __init__(self, blocks: _Blocks, size: int) -> None:
        self._blocks = blocks
        self.left = size
        self.offset = blocks.handed_out  # where the bytes start in the tar stream

    def read(self, size: int = -1) -> bytes:
        if size < 0 or size > self.left:
            size = self.left
        if size == 0:
            return b""
        data = self._blocks.exactly(size, "a file")
        self.left -= size
        return data


class TarReader:
    """``(member, data)`` per entry, in stream order, when iterated; ``data`` for regular files
    only, and it must be read (or left) before the next entry. Reading stops at the first zero
    block; what follows (the second end block, padding) is left in the stream for its owner."""

    def __init__(self, stream: BinaryIO) -> None:
        self._blocks = _Blocks(stream)

    def __iter__(self) -> Iterator[tuple[Member, MemberData | None]]:
        blocks = self._blocks
        while True:
            member = _next_member(blocks)
            if member is None:
                return
            padding = -member.size % BLOCK
            if member.isreg():
                data = MemberData(blocks, member.size)
                yield member, data
                blocks.skip(data.left + padding, member.name)
            else:
                yield member, None
                if member.kind not in HEADER_ONLY:
                    blocks.skip(member.size + padding, member.name)


def _next_member(blocks: _Blocks) -> Member | None:
    """The next entry with its pax and GNU long-name headers applied; None at the end."""
    overrides: dict[str, str] = {}
    while True:
        header = blocks.take(BLOCK)
        if not header or header == ZERO_BLOCK:
            if overrides:
                raise CorruptTar("an extended header with no entry after it")
            return None
        if len(header) != BLOCK:
            raise CorruptTar("a header cut short")
        _check_sum(header)
        kind = header[156:157]
        size = _number(header[124:136])
        if kind in PAX_LOCAL or kind == b"g":
            if size > MAX_PAX_HEADER:
                raise HeaderTooLarge(f"tar pax header of {size} bytes (cap {MAX_PAX_HEADER})")
            records = _pax_records(blocks.exactly(size, "a pax header"))
            blocks.skip(-size % BLOCK, "a pax header")
            if kind != b"g":  # a global header is not applied, as the engine does not apply it
                overrides.update(records)
            continue
        if kind in NAME_TYPES:
            if size > MAX_NAME_HEADER:
                raise HeaderTooLarge(f"tar long-name header of {size} bytes (cap {MAX_NAME_HEADER})")
            value = blocks.exactly(size, "a long name")
            blocks.skip(-size % BLOCK, "a long name")
            overrides[NAME_TYPES[kind]] = _text(value.split(b"\0", 1)[0])
            continue
        return _member(blocks, header, kind, size, overrides)


def _member(blocks: _Blocks, header: bytes, kind: bytes, size: int, overrides: dict[str, str]) -> Member:
    name = _text(header[:100].split(b"\0", 1)[0])
    if header[257:265] == POSIX_MAGIC:
        prefix = header[345:500].split(b"\0", 1)[0]
        if prefix:
            name = _text(prefix) + "/" + name
    if kind == b"S" and header[482]:  # old GNU sparse: skip its extension blocks
        while blocks.exactly(BLOCK, "a sparse header")[504]:
            pass
    name = overrides.get("GNU.sparse.name") or overrides.get("path") or name
    if kind == b"\0" and name.endswith("/"):
        kind = b"5"
    if kind == b"5":
        name = name.rstrip("/")
    if "size" in overrides:
        size = _decimal(overrides["size"])
    linkname = overrides.get("linkpath") or _text(header[157:257].split(b"\0", 1)[0])
    return Member(name, kind, size, linkname)


def _check_sum(header: bytes) -> None:
    """The stored checksum must be the sum of the header's bytes (unsigned, or signed as
    some old writers made it), the checksum field counted as spaces."""
    stored = _number(header[148:156])
    unsigned = _byte_sum(header[:148]) + _byte_sum(header[156:356]) + _byte_sum(header[356:]) + 8 * 32
    if stored == unsigned:
        return
    signed = unsigned - 256 * sum(1 for byte in header[:148] + header[156:] if byte > 127)
    if stored != signed:
        raise CorruptTar("a header with a bad checksum")


def _byte_sum(piece: bytes) -> int:
    """The sum of at most 256 bytes, in C: Adler-32's first half is 1 + that sum, and it cannot
    reach the modulus (65521) before 257 bytes of 0xFF."""
    return (zlib.adler32(piece) & 0xFFFF) - 1


def _number(field: bytes) -> int:
    """A numeric header field: octal text, or base-256 when its first bit is set."""
    if field[0] & 0x80:
        if field[0] == 0xFF:
            raise CorruptTar("a negative number in a header")
        return int.from_bytes(field, "big") & ~(0x80 << (8 * (len(field) - 1)))
    text = field.split(b"\0", 1)[0].strip(b" ")
    if not text.isdigit():  # ASCII digits only: no sign, underscore or space inside
        if text:
            raise CorruptTar("a header with an invalid number")
        return 0
    try:
        return int(text, 8)
    except ValueError:  # an 8 or a 9
        raise CorruptTar("a header with an invalid number") from None


def _decimal(text: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise CorruptTar("a pax header with an invalid size")
    return int(text)


def _pax_records(data: bytes) -> dict[str, str]:
    """``LENGTH KEY=VALUE\\n`` records; trailing NULs are allowed, nothing else malformed is."""
    records: dict[str, str] = {}
    position = 0
    while position < len(data) and data[position]:
        space = data.find(b" ", position, position + 20)
        length_text = data[position:space]
        if space < 0 or not length_text.isdigit():
            raise CorruptTar("a malformed pax record")
        end = position + int(length_text)
        if end > len(data) or end <= space or data[end - 1] != 0x0A:
            raise CorruptTar("a malformed pax record")
        key, equals, value = data[space + 1 : end - 1].partition(b"=")
        if not equals or not key:
            raise CorruptTar("a malformed pax record")
        records[_text(key)] = _text(value)
        position = end
    return records


def _text(raw: bytes) -> str:
    """Names as ``tarfile`` shows them: UTF-8, undecodable bytes kept as surrogates."""
    return raw.decode("utf-8", "surrogateescape")
