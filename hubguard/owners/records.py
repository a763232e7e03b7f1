"""What the per-layer scan keeps for ownership: package databases and the digests of hit files.

Both are gathered while a layer streams past, so deciding owners later needs no second read
of any layer, and a cached layer carries what its owners will be decided from. Only files that
produced a hit are hashed, so the cost stays small.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from dataclasses import dataclass, field
from typing import BinaryIO

# Package databases, by path: dpkg (status, status.d for distroless, info/*.md5sums), apk,
# pip (dist-info RECORD and PEP 610 direct_url.json) and npm (the hidden lockfile).
DATABASE = re.compile(
    r"/var/lib/dpkg/status"
    r"|/var/lib/dpkg/status\.d/[^/]+"
    r"|/var/lib/dpkg/info/[^/]+\.md5sums"
    r"|/lib/apk/db/installed"
    r"|.*/[^/]+\.dist-info/(?:RECORD|direct_url\.json)"
    r"|.*/node_modules/\.package-lock\.json"
)
DATABASE_LIMIT = 64 * 1024 * 1024  # a larger "database" is not one: ignored (its files stay own)
KEEP_IN_MEMORY = 32 * 1024 * 1024  # a file's bytes are kept this far, then hashed as they stream
ALGORITHMS = ("md5", "sha1", "sha256")


def is_database(path: str) -> bool:
    return DATABASE.fullmatch(path) is not None


@dataclass
class LayerRecords:
    """One layer's package databases (text by path) and hit files' digests (hex by algorithm)."""

    databases: dict[str, str] = field(default_factory=dict)
    digests: dict[str, dict[str, str]] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"databases": self.databases, "digests": self.digests}

    @classmethod
    def from_json(cls, data: dict) -> LayerRecords:
        return cls(dict(data["databases"]), {path: dict(d) for path, d in data["digests"].items()})


def file_digests(data: bytes) -> dict[str, str]:
    """Hex digests of a file read whole, in the algorithms package records use."""
    return {name: hashlib.new(name, data).hexdigest() for name in ALGORITHMS}


class DigestingReader:
    """Passes reads through and remembers the bytes, so a file that turns out to hold a hit can
    be hashed without reading it again; files without hits cost a list append per read."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.chunks: list[bytes] = []
        self.kept = 0
        self.hashers: list | None = None

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        if data:
            self._take(data)
        return data

    def _take(self, data: bytes) -> None:
        if self.hashers is None:
            self.chunks.append(data)
            self.kept += len(data)
            if self.kept <= KEEP_IN_MEMORY:
                return
            self.hashers = [hashlib.new(name) for name in ALGORITHMS]
            data = b"".join(self.chunks)
            self.chunks = []
        for hasher in self.hashers:
            hasher.update(data)

    def digests(self) -> dict[str, str]:
        """Hex digests of the whole file (whatever the scan left unread is read now)."""
        while self.read(1024 * 1024):
            pass
        if self.hashers is None:
            return file_digests(b"".join(self.chunks))
        return {name: hasher.hexdigest() for name, hasher in zip(ALGORITHMS, self.hashers, strict=True)}


def outer_path(path: str) -> str:
    """The image file a hit is in: an archive member ``/a.jar!x`` belongs to ``/a.jar``."""
    return posixpath.normpath(path.split("!", 1)[0])
