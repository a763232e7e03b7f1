"""Read named files from a directory or from inside a tar, so OCI and docker-save code is shared."""

from __future__ import annotations

import io
import json
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from hubguard.errors import InputError, ScanIncomplete

MAX_JSON_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class BlobRef:
    """Where a blob's bytes are: a whole file, or a byte range of one (an uncompressed tar member).

    Small and picklable, so a worker process can open the layer itself.
    """

    path: str
    offset: int
    size: int

    def open(self) -> BinaryIO:
        # Unbuffered on purpose: tarfile seeks to every header, and a read-ahead buffer would
        # turn each 512-byte header read into a buffer-sized one.
        return _FileSlice(self.path, self.offset, self.size)  # type: ignore[return-value]


class _FileSlice(io.RawIOBase):
    """A seekable read-only view of ``size`` bytes at ``offset`` of a file."""

    def __init__(self, path: str, offset: int, size: int) -> None:
        self._fd = os.open(path, os.O_RDONLY)
        self._offset, self._size, self._pos = offset, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        wanted = min(len(buffer), self._size - self._pos)
        if wanted <= 0:
            return 0
        data = os.pread(self._fd, wanted, self._offset + self._pos)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def seek(self, position: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + position)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()


class BlobStore(Protocol):
    def has(self, name: str) -> bool: ...
    def open(self, name: str) -> BinaryIO: ...
    def size(self, name: str) -> int | None: ...
    def ref(self, name: str) -> BlobRef: ...


def read_json(store: BlobStore, name: str, what: str) -> object:
    """Load a small JSON document (index, manifest, config); hostile sizes are refused."""
    if not store.has(name):
        raise ScanIncomplete(f"{what} {name} is missing from the image")
    size = store.size(name)
    if size is not None and size > MAX_JSON_BYTES:
        raise InputError(f"{what} {name} is {size} bytes: too large to be one")
    with store.open(name) as stream:
        raw = stream.read(MAX_JSON_BYTES + 1)
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{what} {name} is not valid JSON: {exc}") from None


def blob_name(digest: str) -> str:
    algorithm, _, hexdigest = digest.partition(":")
    if not hexdigest or "/" in digest or ".." in digest:
        raise InputError(f"bad digest {digest!r}")
    return f"blobs/{algorithm}/{hexdigest}"


class DirStore:
    """An OCI layout directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, name: str) -> Path:
        path = (self.root / name).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise InputError(f"{name!r} points outside {self.root}")
        return path

    def has(self, name: str) -> bool:
        return self._path(name).is_file()

    def open(self, name: str) -> BinaryIO:
        try:
            return self._path(name).open("rb")
        except OSError as exc:
            raise InputError(f"cannot read {self.root / name}: {exc.strerror}") from None

    def size(self, name: str) -> int | None:
        return self._path(name).stat().st_size

    def ref(self, name: str) -> BlobRef:
        path = self._path(name)
        return BlobRef(str(path), 0, path.stat().st_size)


class TarStore:
    """Members of a ``docker save`` tarball, opened in place (the tar is never extracted)."""

    def __init__(self, tar: tarfile.TarFile, path: str) -> None:
        self.tar = tar
        self.path = os.path.abspath(path)
        self.members: dict[str, tarfile.TarInfo] = {}
        for member in tar:
            if member.isfile():
                self.members[member.name.removeprefix("./")] = member
        tar.members = []  # the index above is all we keep; don't hold TarInfos twice

    def has(self, name: str) -> bool:
        return name in self.members

    def open(self, name: str) -> BinaryIO:
        stream = self.tar.extractfile(self.members[name])
        assert stream is not None  # members holds regular files only
        return stream  # type: ignore[return-value]

    def size(self, name: str) -> int | None:
        return self.members[name].size

    def ref(self, name: str) -> BlobRef:
        member = self.members[name]
        return BlobRef(self.path, member.offset_data, member.size)
