"""Read one layer tar as a stream: decompress by magic bytes, yield regular files, note whiteouts.

The :class:`LayerIndex` of every layer is what later decides whether a file found in a lower
layer is still ``present``, ``deleted`` (a ``.wh.`` whiteout or opaque directory hides it)
or ``overwritten`` (a later layer puts something else at its path).
"""

from __future__ import annotations

import contextlib
import hashlib
import posixpath
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from hubguard.errors import ScanIncomplete
from hubguard.gunzip import GZIP_ERRORS, gzip_reader
from hubguard.hashing import HashThread
from hubguard.model import FileState
from hubguard.sources.blobs import BlobRef, HeaderTooLarge
from hubguard.sources.tarstream import TarReader

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"


@dataclass
class LayerIndex:
    """Every path a layer touches: what it adds, what it deletes, which directories it makes opaque."""

    files: set[str] = field(default_factory=set)
    dirs: set[str] = field(default_factory=set)
    whiteouts: set[str] = field(default_factory=set)
    opaque_dirs: set[str] = field(default_factory=set)
    hardlinks: dict[str, set[str]] = field(default_factory=dict)  # file -> other names of it

    def hides(self, path: str) -> FileState | None:
        """``deleted``/``overwritten`` if this (later) layer hides ``path`` of a lower layer."""
        if path in self.files or path in self.dirs:
            return "overwritten"
        if path in self.whiteouts:
            return "deleted"
        for ancestor in _ancestors(path):
            if ancestor in self.whiteouts or ancestor in self.opaque_dirs:
                return "deleted"
            if ancestor in self.files:
                return "overwritten"
        if "/" in self.opaque_dirs:  # ``/.wh..wh..opq``: nothing below survives from lower layers
            return "deleted"
        return None

    def to_json(self) -> dict:
        data: dict = {
            key: sorted(getattr(self, key)) for key in ("files", "dirs", "whiteouts", "opaque_dirs")
        }
        data["hardlinks"] = {target: sorted(names) for target, names in sorted(self.hardlinks.items())}
        return data

    @classmethod
    def from_json(cls, data: dict) -> LayerIndex:
        index = cls(**{key: set(data[key]) for key in ("files", "dirs", "whiteouts", "opaque_dirs")})
        index.hardlinks = {target: set(names) for target, names in data.get("hardlinks", {}).items()}
        return index


def _ancestors(path: str) -> Iterator[str]:
    parent = posixpath.dirname(path)
    while parent not in ("/", ""):
        yield parent
        parent = posixpath.dirname(parent)


def normalize(name: str) -> str:
    """An absolute, clean in-image path; ``..`` cannot climb above ``/``."""
    return posixpath.normpath("/" + name.lstrip("/")).replace("//", "/")


class DigestReader:
    """Hashes and counts every byte read through it, so a layer is verified while it is read."""

    def __init__(self, stream: BinaryIO, *, hashing: bool = True, hashes: HashThread | None = None) -> None:
        self.stream = stream
        self.hash = hashlib.sha256() if hashing else None
        self.hashes = hashes  # the thread that hashes, else this one
        self.size = 0
        self._head = b""  # peeked bytes, hashed already, not yet handed out

    def peek(self, size: int) -> bytes:
        """The next ``size`` bytes, which the following ``read`` returns again."""
        if len(self._head) < size:
            self._head += self._read(size - len(self._head))
        return self._head[:size]

    def read(self, size: int = -1) -> bytes:
        if self._head:
            taken = self._head if size < 0 else self._head[:size]
            self._head = self._head[len(taken) :]
            rest = (
                b"" if size >= 0 and len(taken) >= size else self._read(-1 if size < 0 else size - len(taken))
            )
            return taken + rest
        return self._read(size)

    def readinto(self, buffer: bytearray | memoryview) -> int:
        """For readers that fill buffers (ISA-L's gzip); the bytes still go through ``read``."""
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _read(self, size: int) -> bytes:
        data = self.stream.read(size)
        if self.hash is not None and self.hashes is not None:
            self.hashes.update(self.hash, data)
        elif self.hash is not None:
            self.hash.update(data)
        self.size += len(data)
        return data

    def drain(self) -> None:
        """Read to the end (the tar end blocks and padding count in the digest too)."""
        while self.read(1024 * 1024):
            pass

    def digest(self) -> str:
        if self.hashes is not None:
            self.hashes.wait()
        return "sha256:" + (self.hash.hexdigest() if self.hash is not None else "")


@dataclass
class Expected:
    """What a layer's bytes must hash to: its diff_id (uncompressed tar) and, for an OCI blob,
    the blob digest (the bytes as stored). ``name`` is how errors refer to the layer.
    ``raw_digest`` is filled in once every byte has been read and verified."""

    name: str
    diff_id: str
    blob_digest: str = ""
    raw_digest: str = field(default="", init=False)


class LayerMismatch(ScanIncomplete):
    """A layer's bytes are not what its digest claims."""


def blob_digest(stream: BinaryIO) -> tuple[str, int]:
    """(sha256 digest, size) of a whole blob: the check a cached layer still gets."""
    reader = DigestReader(stream)
    reader.drain()
    return reader.digest(), reader.size


def decompressed(stream: DigestReader) -> tuple[BinaryIO, bool]:
    """Sniff gzip / zstd / plain tar by the first bytes (media types are not trusted).

    Returns the tar stream and whether it is the original, uncompressed one.
    """
    head = stream.peek(4)
    if head.startswith(GZIP_MAGIC):
        return gzip_reader(stream), False  # type: ignore[arg-type]
    if head.startswith(ZSTD_MAGIC):
        import zstandard

        reader = zstandard.ZstdDecompressor().stream_reader(stream, read_across_frames=True)
        return reader, False  # type: ignore[return-value]
    return stream, True


def iter_layer_files(
    stream: BinaryIO,
    index: LayerIndex,
    label: str,
    *,
    expected: Expected | None = None,
    rename: Callable[[str], str] = lambda path: path,
    hashes: HashThread | None = None,
    progress: Callable[[int], None] | None = None,
    blob: BlobRef | None = None,
) -> Iterator[tuple[str, int, BinaryIO, BlobRef | None]]:
    """Yield ``(path, size, reader, place)`` per regular file, in tar order, filling ``index``
    as it goes. ``place`` is where the file's bytes lie in ``blob`` (the file ``stream`` reads),
    when the layer is a plain tar there: another process may read them in place.

    Each reader must be consumed (or abandoned) before the next item is requested. Every byte
    is read once, in order, through digest readers: with ``expected``, a layer whose bytes do
    not hash to its digests fails after its last file (:class:`LayerMismatch`), before anyone
    may cache or trust what it yielded. ``rename`` turns each in-image path into the form
    shown and stored (undecodable bytes escaped, secrets in names redacted). The digests are
    computed on ``hashes``' thread when given; ``progress(bytes)`` is told after each file how
    far into ``stream`` the read has come.
    """
    name = expected.name if expected is not None else f"layer {label}"
    with broken_layer(name):
        # Nothing to verify against (a streamed export, hashed by its own reader): no hashing here.
        hashing = expected is not None
        raw = DigestReader(stream, hashing=hashing, hashes=hashes)
        tar_stream, plain = decompressed(raw)
        uncompressed = raw if plain else DigestReader(tar_stream, hashing=hashing, hashes=hashes)
        tar = TarReader(uncompressed)
        files_placed = plain and blob is not None
        for member, data in tar:
            path = rename(normalize(member.name))
            directory, base = posixpath.split(path)
            if base == OPAQUE_MARKER:
                index.opaque_dirs.add(directory)
            elif base.startswith(WHITEOUT_PREFIX):
                index.whiteouts.add(posixpath.join(directory, base[len(WHITEOUT_PREFIX) :]))
            elif member.isdir():
                index.dirs.add(path)
            else:
                index.files.add(path)
                if member.islnk():
                    target = rename(normalize(member.linkname))
                    index.hardlinks.setdefault(target, set()).add(path)
                if data is not None:
                    place = blob.part(data.offset, member.size) if files_placed else None
                    yield path, member.size, data, place  # type: ignore[misc]
                    if progress is not None:  # a plain layer's tar is the stream; else count what was read
                        progress(data.offset + member.size if plain else raw.size)
        uncompressed.drain()
        raw.drain()
    if expected is None:
        return
    if uncompressed.digest() != expected.diff_id or (
        expected.blob_digest and raw.digest() != expected.blob_digest
    ):
        raise LayerMismatch(f"{name} does not match its digest")
    expected.raw_digest = raw.digest()


@contextlib.contextmanager
def broken_layer(name: str) -> Iterator[None]:
    """A truncated or corrupt layer, wherever it is noticed (the tar reader, a file being read),
    is one clear incomplete-scan error, never an internal one."""
    try:
        yield
    except HeaderTooLarge as exc:
        raise ScanIncomplete(f"{name} has a {exc}") from None
    except (tarfile.TarError, OSError, EOFError, ValueError, *GZIP_ERRORS) as exc:
        raise ScanIncomplete(f"{name} is truncated or corrupt ({exc})") from None
    except Exception as exc:  # zstandard.ZstdError and friends: still a broken layer, not a crash
        if type(exc).__module__.startswith("zstandard"):
            raise ScanIncomplete(f"{name} is truncated or corrupt ({exc})") from None
        raise
