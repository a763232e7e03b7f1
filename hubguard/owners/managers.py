"""Read each package manager's own records into one shape: path -> what the record says.

dpkg: ``status`` (packages, conffiles with md5) and ``info/<package>.md5sums``. apk:
``lib/apk/db/installed`` (``Z:`` base64 SHA-1 per file). pip: ``*.dist-info/RECORD``
(urlsafe-base64 SHA-256 per file; a PEP 610 ``direct_url.json`` marks a local or VCS install,
i.e. the user's own code). npm: ``node_modules/.package-lock.json`` (per package, where it
was resolved from: an index tarball with integrity, or ``file:``/``link``/git, the user's own).
"""

from __future__ import annotations

import base64
import binascii
import json
import posixpath
from dataclasses import dataclass


@dataclass(frozen=True)
class Record:
    """One file as a package manager recorded it; ``digest`` is ``(algorithm, hex)`` or None
    when the manager keeps no hash for it (generated ``.pyc``, the RECORD file itself)."""

    kind: str  # "distro" or "package"; "own" when the record itself says the package is the user's
    package: str
    how: str
    digest: tuple[str, str] | None


def dpkg_md5sums(path: str, text: str) -> dict[str, Record]:
    """``info/<package>[:arch].md5sums``: ``<md5>  <path without leading slash>`` per line."""
    package = posixpath.basename(path)[: -len(".md5sums")].split(":", 1)[0]
    records = {}
    for line in text.splitlines():
        md5, _, name = line.partition("  ")
        if name and len(md5) == 32:
            records["/" + name.lstrip("/")] = Record("distro", package, "dpkg md5sums", ("md5", md5))
    return records


def dpkg_status(text: str) -> dict[str, Record]:
    """Conffiles (``/etc/…`` with their md5): dpkg lists them here, not in md5sums."""
    records: dict[str, Record] = {}
    for stanza in text.split("\n\n"):
        package, in_conffiles, conffiles = "", False, []
        for line in stanza.splitlines():
            if line.startswith("Package:"):
                package = line.split(":", 1)[1].strip()
            elif line.startswith("Conffiles:"):
                in_conffiles = True
            elif in_conffiles and line.startswith(" "):
                conffiles.append(line.split())
            else:
                in_conffiles = False
        for fields in conffiles:
            if len(fields) >= 2 and len(fields[1]) == 32:
                records[fields[0]] = Record("distro", package, "dpkg conffile", ("md5", fields[1]))
    return records


def apk_installed(text: str) -> dict[str, Record]:
    """``P:`` package, ``F:`` directory, ``R:`` file, ``Z:Q1<base64 sha1>`` its checksum."""
    records: dict[str, Record] = {}
    package, directory, name = "", "", ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key == "P":
            package = value
        elif key == "F":
            directory = value
        elif key == "R":
            name = "/" + posixpath.join(directory, value)
            records[name] = Record("distro", package, "apk installed db", None)
        elif key == "Z" and name and value.startswith("Q1"):
            with_digest = _b64_hex(value[2:], urlsafe=False)
            if with_digest:
                records[name] = Record("distro", package, "apk installed db", ("sha1", with_digest))
    return records


def pip_record(path: str, text: str, own: bool) -> dict[str, Record]:
    """``RECORD`` rows ``relative/path,sha256=<urlsafe b64>,size`` relative to site-packages."""
    dist_info = posixpath.dirname(path)
    site = posixpath.dirname(dist_info)
    package = posixpath.basename(dist_info)[: -len(".dist-info")].split("-", 1)[0]
    how = "pip RECORD, direct_url.json (local or VCS install)" if own else "pip RECORD"
    records = {}
    for row in text.splitlines():
        name, _, rest = row.partition(",")
        hash_field = rest.split(",", 1)[0]
        if not name:
            continue
        digest = None
        if hash_field.startswith("sha256="):
            hexed = _b64_hex(hash_field[len("sha256=") :], urlsafe=True)
            digest = ("sha256", hexed) if hexed else None
        file = posixpath.normpath(posixpath.join(site, name.strip('"')))
        records[file] = Record("own" if own else "package", package, how, digest)
    return records


def npm_packages(path: str, text: str) -> dict[str, Record]:
    """Package directories (absolute) from a hidden lockfile: resolved from a registry with an
    integrity hash is ``package``; ``file:``, ``link`` and git dependencies are the user's own."""
    root = posixpath.dirname(posixpath.dirname(path))  # …/node_modules/.package-lock.json
    try:
        packages = json.loads(text).get("packages", {})
    except (ValueError, AttributeError):
        return {}
    records = {}
    for key, entry in packages.items() if isinstance(packages, dict) else ():
        if not key or not isinstance(entry, dict):
            continue
        name = key.rsplit("node_modules/", 1)[-1]
        resolved = str(entry.get("resolved") or "")
        from_index = resolved.startswith(("https://", "http://")) and bool(entry.get("integrity"))
        if entry.get("link") or not from_index:
            how = f"npm .package-lock.json: resolved {resolved.split(':', 1)[0] or 'link'}: (the user's own)"
            records[posixpath.join(root, key)] = Record("own", name, how, None)
        else:
            records[posixpath.join(root, key)] = Record("package", name, "npm .package-lock.json", None)
    return records


def _b64_hex(text: str, *, urlsafe: bool) -> str:
    padded = text + "=" * (-len(text) % 4)
    try:
        raw = base64.urlsafe_b64decode(padded) if urlsafe else base64.b64decode(padded)
    except (binascii.Error, ValueError):
        return ""
    return raw.hex()
