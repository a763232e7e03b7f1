"""Read one layer tar as a stream: decompress by magic bytes, yield regular files, note whiteouts.

The :class:`LayerIndex` of every layer is what later decides whether a file found in a lower
layer is still ``present``, ``deleted`` (a ``.wh.`` whiteout or opaque directory hides it)
or ``overwritten`` (a later layer puts something else at its path).
"""

from __future__ import annotations

import gzip
import posixpath
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from hubguard.errors import ScanIncomplete

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

    def hides(self, path: str) -> str | None:
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
        return None

    def to_json(self) -> dict:
        return {key: sorted(value) for key, value in self.__dict__.items()}

    @classmethod
    def from_json(cls, data: dict) -> LayerIndex:
        return cls(**{key: set(data[key]) for key in ("files", "dirs", "whiteouts", "opaque_dirs")})


def _ancestors(path: str) -> Iterator[str]:
    parent = posixpath.dirname(path)
    while parent not in ("/", ""):
        yield parent
        parent = posixpath.dirname(parent)


def normalize(name: str) -> str:
    """An absolute, clean in-image path; ``..`` cannot climb above ``/``."""
    return posixpath.normpath("/" + name.lstrip("/")).replace("//", "/")


def decompressed(stream: BinaryIO) -> tuple[BinaryIO, bool]:
    """Sniff gzip / zstd / plain tar by the first bytes (media types are not trusted).

    Returns the tar stream and whether it is the original, seekable, uncompressed one.
    """
    head = stream.read(4)
    stream.seek(0)
    if head.startswith(GZIP_MAGIC):
        return gzip.GzipFile(fileobj=stream, mode="rb"), False  # type: ignore[return-value]
    if head.startswith(ZSTD_MAGIC):
        import zstandard

        reader = zstandard.ZstdDecompressor().stream_reader(stream, read_across_frames=True)
        return reader, False  # type: ignore[return-value]
    return stream, stream.seekable()  # a streamed export's layer is read front to back


def iter_layer_files(stream: BinaryIO, index: LayerIndex, label: str) -> Iterator[tuple[str, int, BinaryIO]]:
    """Yield ``(path, size, reader)`` per regular file, in tar order, filling ``index`` as it goes.

    Each reader must be consumed (or abandoned) before the next item is requested. In an
    uncompressed layer an abandoned file costs a seek, not a read.
    """
    try:
        tar_stream, seekable = decompressed(stream)
        with tarfile.open(fileobj=tar_stream, mode="r:" if seekable else "r|") as tar:
            while (member := tar.next()) is not None:
                tar.members.clear()  # one header at a time: memory stays flat however many files
                path = normalize(member.name)
                directory, base = posixpath.split(path)
                if base == OPAQUE_MARKER:
                    index.opaque_dirs.add(directory)
                elif base.startswith(WHITEOUT_PREFIX):
                    index.whiteouts.add(posixpath.join(directory, base[len(WHITEOUT_PREFIX) :]))
                elif member.isdir():
                    index.dirs.add(path)
                else:
                    index.files.add(path)
                    if member.isreg():
                        reader = tar.extractfile(member)
                        if reader is not None:
                            yield path, member.size, reader  # type: ignore[misc]
    except (tarfile.TarError, OSError, EOFError, zlib.error, ValueError) as exc:
        raise ScanIncomplete(f"layer {label} is corrupt or truncated: {exc}") from None
    except Exception as exc:  # zstandard.ZstdError and friends: still a broken layer, not a crash
        if type(exc).__module__.startswith("zstandard"):
            raise ScanIncomplete(f"layer {label} is corrupt or truncated: {exc}") from None
        raise
