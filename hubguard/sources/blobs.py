"""Read named files from a directory or from inside a tar, so OCI and docker-save code is shared."""

from __future__ import annotations

import hashlib
import io
import json
import os
import posixpath
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from hubguard.errors import InputError, ScanIncomplete

MAX_JSON_BYTES = 16 * 1024 * 1024
MAX_NAME_HEADER = 64 * 1024  # a GNU long name or link name longer than this fails the archive
MAX_PAX_HEADER = 1024 * 1024  # a pax extended header larger than this fails the archive
LINK_HOPS = 8  # symlink members followed in a row inside a docker save tarball


class HeaderTooLarge(tarfile.HeaderError):
    """A tar extended header over its cap: the standard library would read it whole into memory."""


class CappedTarInfo(tarfile.TarInfo):
    """``TarInfo`` that refuses oversized GNU long-name and pax headers before reading them.

    ``tarfile`` reads these headers' payloads whole; a crafted 1 GiB pax header in a tiny
    gzip layer would otherwise cost gigabytes. Pass as ``tarfile.open(..., tarinfo=CappedTarInfo)``.
    """

    def _proc_gnulong(self, tarfile):  # type: ignore[no-untyped-def]
        if self.size > MAX_NAME_HEADER:
            raise HeaderTooLarge(f"tar long-name header of {self.size} bytes (cap {MAX_NAME_HEADER})")
        return super()._proc_gnulong(tarfile)

    def _proc_pax(self, tarfile):  # type: ignore[no-untyped-def]
        if self.size > MAX_PAX_HEADER:
            raise HeaderTooLarge(f"tar pax header of {self.size} bytes (cap {MAX_PAX_HEADER})")
        return super()._proc_pax(tarfile)


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

    def part(self, offset: int, size: int) -> BlobRef:
        """``size`` bytes at ``offset`` into this blob, as a ref of their own."""
        return BlobRef(self.path, self.offset + offset, size)

    def read_all(self, kept_open: dict[str, int] | None = None) -> bytes:
        """The whole blob in one read: how a worker gets a file it was sent by reference
        (``kept_open``: files it keeps open between reads, by path; opening the archive again
        for each of a layer's files cost half a second of a gigabyte layer). The bytes were
        read and verified once already: if they are gone now, the file changed under the
        scan, and the scan is incomplete."""
        try:
            fd = kept_open.get(self.path) if kept_open is not None else None
            if fd is None:
                fd = os.open(self.path, os.O_RDONLY)
            try:
                data = os.pread(fd, self.size, self.offset)
            finally:
                if kept_open is None:
                    os.close(fd)
                else:
                    kept_open[self.path] = fd
        except OSError as exc:
            raise ScanIncomplete(f"cannot read {self.path} again: {exc.strerror}") from None
        if len(data) != self.size:
            end = self.offset + self.size
            raise ScanIncomplete(f"{self.path} changed during the scan: it ends before byte {end}")
        return data


class _FileSlice(io.RawIOBase):
    """A seekable read-only view of ``size`` bytes at ``offset`` of a file."""

    def __init__(self, path: str, offset: int, size: int) -> None:
        self._fd = os.open(path, os.O_RDONLY)
        self._offset, self._size, self._pos = offset, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        """One ``pread`` into a new bytes object (``RawIOBase.read`` would copy it twice more)."""
        wanted = self._size - self._pos if size < 0 else min(size, self._size - self._pos)
        if wanted <= 0:
            return b""
        data = os.pread(self._fd, wanted, self._offset + self._pos)
        self._pos += len(data)
        return data

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
    return read_json_digest(store, name, what)[0]


def read_json_digest(store: BlobStore, name: str, what: str) -> tuple[object, str]:
    """The document and the sha256 digest of its bytes (what an image ID or a blob name claims)."""
    if not store.has(name):
        raise ScanIncomplete(f"{what} {name} is missing from the image")
    size = store.size(name)
    if size is not None and size > MAX_JSON_BYTES:
        raise InputError(f"{what} {name} is {size} bytes: too large to be one")
    with store.open(name) as stream:
        raw = stream.read(MAX_JSON_BYTES + 1)
    if len(raw) > MAX_JSON_BYTES:
        raise InputError(f"{what} {name} is over {MAX_JSON_BYTES} bytes: too large to be one")
    try:
        return json.loads(raw), "sha256:" + hashlib.sha256(raw).hexdigest()
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
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
        return self._path(name).is_file()  # follows symlinks (inside the layout); no FIFOs

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
        links: dict[str, str] = {}
        for member in tar:
            name = posixpath.normpath(member.name).removeprefix("./")
            if member.isfile():
                self.members[name] = member
            elif member.issym():  # moby's legacy save: a repeated layer links to the first copy
                links[name] = posixpath.normpath(posixpath.join(posixpath.dirname(name), member.linkname))
            elif member.islnk():
                links[name] = posixpath.normpath(member.linkname).removeprefix("./")
        tar.members = []  # the index above is all we keep; don't hold TarInfos twice
        for name in links:
            target = _follow(name, links)
            if target is not None and target in self.members:
                self.members[name] = self.members[target]

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


def _follow(name: str, links: dict[str, str]) -> str | None:
    """Where a link member leads, if it stays inside the archive within a few hops."""
    for _ in range(LINK_HOPS):
        target = links.get(name)
        if target is None:
            return name
        if target.startswith(("../", "/")) or target == "..":
            return None  # leaves the archive: never followed
        name = target
    return None


def require_regular_file(path: str, what: str) -> None:
    """Refuse a FIFO, socket or device before ``open()`` (a FIFO would block forever)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise InputError(f"{what}: no such file") from None
    except OSError as exc:
        raise InputError(f"{what}: cannot read ({(exc.strerror or str(exc)).lower()})") from None
    if not stat.S_ISREG(mode):
        raise InputError(f"{what}: not a regular file")
