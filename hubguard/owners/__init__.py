"""Who owns each file of an image, read from the image's own records.

One interface: :class:`Ownership`, built after the per-layer scan from every layer's
:class:`LayerRecords`, answers :meth:`Ownership.owner` for a hit's path and layer:

- ``distro``: listed by dpkg (md5sums, conffiles) or apk (``Z:`` sha1) and unmodified;
- ``package``: listed by pip's RECORD (sha256) and unmodified, inside an npm package resolved
  from a registry with an integrity hash, or under a package-manager layout that records no
  hashes (``[owners] layouts`` in rules/third_party.toml);
- ``base``: otherwise own, but in a layer inherited from the base image;
- ``own``: everything else, including a package file whose hash differs from its record and
  the user's own packages (pip ``direct_url.json``, npm ``file:``/``link``/git).

Decided after the scan, from the databases as the top of the image shows them, because a
layer's owners can depend on databases written by later layers: the layer cache stays correct.
"""

from __future__ import annotations

import posixpath

from hubguard.detect.rules import globs_match
from hubguard.model import Owner
from hubguard.owners.managers import (
    Record,
    apk_installed,
    dpkg_md5sums,
    dpkg_status,
    npm_packages,
    pip_record,
)
from hubguard.owners.records import DigestingReader, LayerRecords, is_database, outer_path

__all__ = ["DigestingReader", "LayerRecords", "Ownership", "is_database"]

USR_MERGED = ("/usr/bin/", "/usr/sbin/", "/usr/lib/", "/usr/lib32/", "/usr/lib64/", "/usr/libx32/")


class Ownership:
    """Owners for one image's files, from its layers' records (lowest layer first)."""

    def __init__(
        self,
        layers: list[LayerRecords],
        *,
        base_layers: int = 0,
        base_how: str = "",
        layouts: tuple[str, ...] = (),
    ) -> None:
        databases: dict[str, str] = {}
        for layer in layers:
            databases.update(layer.databases)  # the top-most version of each database wins
        self.digests = [layer.digests for layer in layers]
        self.base_layers = base_layers
        self.base_how = base_how
        self.layouts = layouts
        self.dpkg = any(path.startswith("/var/lib/dpkg/") for path in databases)
        self.files: dict[str, Record] = {}
        self.npm: dict[str, Record] = {}
        self._read(databases)

    def _read(self, databases: dict[str, str]) -> None:
        local_installs = {
            posixpath.dirname(path) for path in databases if path.endswith(".dist-info/direct_url.json")
        }
        for path, text in sorted(databases.items()):
            if path.endswith(".md5sums"):
                self.files.update(dpkg_md5sums(path, text))
            elif path.startswith("/var/lib/dpkg/status"):
                self.files.update(dpkg_status(text))
            elif path == "/lib/apk/db/installed":
                self.files.update(apk_installed(text))
            elif path.endswith("/RECORD"):
                self.files.update(pip_record(path, text, posixpath.dirname(path) in local_installs))
            elif path.endswith("/.package-lock.json"):
                self.npm.update(npm_packages(path, text))

    def owner(self, path: str, layer: int) -> Owner:
        """The owner of the file a hit at ``path`` (maybe ``archive!member``) in ``layer`` is in."""
        path = outer_path(path)
        owner = self._recorded(path, self.digests[layer].get(path) if layer < len(self.digests) else None)
        if owner.kind == "own" and layer < self.base_layers:
            return Owner("base", how=self.base_how)
        return owner

    def _recorded(self, path: str, digests: dict[str, str] | None) -> Owner:
        if self.dpkg and path.startswith("/var/lib/dpkg/"):
            return Owner("distro", "dpkg", "dpkg's own database")
        record = self.files.get(path) or self.files.get(_unmerged(path))
        if record is not None:
            return _checked(record, digests)
        for directory in _ancestors(path):
            if directory in self.npm:
                record = self.npm[directory]
                return Owner(record.kind, record.package, record.how)
        if self.layouts and globs_match(path, self.layouts):
            return Owner("package", how="package-manager layout without hashes")
        return Owner("own")


def _checked(record: Record, digests: dict[str, str] | None) -> Owner:
    """The record's owner if the file is what was installed; a modified file is the user's."""
    if record.kind == "own" or record.digest is None:
        return Owner(record.kind, record.package, record.how)
    algorithm, expected = record.digest
    if digests is not None and digests.get(algorithm) == expected:
        return Owner(record.kind, record.package, record.how)
    return Owner("own", record.package, f"{record.how}: {algorithm} differs, modified after install")


def _unmerged(path: str) -> str:
    """``/usr/bin/x`` as packages may still list it (``/bin/x``) on a merged-/usr system."""
    return path[len("/usr") :] if path.startswith(USR_MERGED) else path


def _ancestors(path: str):
    parent = posixpath.dirname(path)
    while parent not in ("/", ""):
        yield parent
        parent = posixpath.dirname(parent)
