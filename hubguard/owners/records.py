"""What the per-layer scan keeps for ownership: package databases and the digests of hit files.

Both are gathered while a layer streams past, so deciding owners later needs no second read
of any layer, and a cached layer carries what its owners will be decided from. A file read whole
is hashed only when it produced a hit; a large one, scanned in chunks by several workers, is
hashed as it streams past, on a thread beside the read.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from dataclasses import dataclass, field
from typing import BinaryIO

from hubguard.hashing import HashThread

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
    """Passes reads through and hashes them in the algorithms package records use, on
    ``hashes``' thread when given (the reading thread goes on meanwhile)."""

    def __init__(self, raw: BinaryIO, hashes: HashThread | None = None) -> None:
        self.raw = raw
        self.hashes = hashes
        self.hashers = [hashlib.new(name) for name in ALGORITHMS]

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        for hasher in self.hashers:
            if self.hashes is not None:
                self.hashes.update(hasher, data)
            else:
                hasher.update(data)
        return data

    def finish(self) -> None:
        """Read whatever the scan left unread, so the digests cover the whole file."""
        while self.read(1024 * 1024):
            pass

    def digests(self) -> dict[str, str]:
        """Hex digests of the whole file; call :meth:`finish` first."""
        if self.hashes is not None:
            self.hashes.wait()
        return {name: hasher.hexdigest() for name, hasher in zip(ALGORITHMS, self.hashers, strict=True)}


def outer_path(path: str) -> str:
    """The image file a hit is in: an archive member ``/a.jar!x`` belongs to ``/a.jar``."""
    return posixpath.normpath(path.split("!", 1)[0])
