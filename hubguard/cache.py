"""Layer cache: what a layer holds, keyed by its diff_id and everything that could change the answer.

An entry stores hashed, redacted hits and the layer's path index, never a secret value.
Writes are atomic (temp file + rename); an unreadable, corrupt or foreign entry is ignored
and the layer rescanned. The directory is ``$HUBGUARD_CACHE_DIR``, else
``$XDG_CACHE_HOME/hubguard``, else ``~/.cache/hubguard``, so CI can keep it between jobs.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from hubguard import __version__
from hubguard.detect.engine import Hit
from hubguard.model import LayerRef, Severity

FORMAT = 2  # 2: layer entries record the verified blob digest


def default_cache_dir() -> Path:
    if os.environ.get("HUBGUARD_CACHE_DIR"):
        return Path(os.environ["HUBGUARD_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "hubguard"


# Where a cache directory keeps the compiled rules, apart from the scan entries: the Hyperscan
# databases (``Detector(store=...)``) and each pack's parsed data (``load_rules(store=...)``).
PREFILTER_STORE = "prefilter"
PACKS_STORE = "packs"


class Cache:
    """Entries under ``root/<kind>/<key[:2]>/<key>.json.gz``; ``salt`` ties them to rules+options."""

    def __init__(self, root: Path, salt: str) -> None:
        self.root = root
        self.salt = f"{FORMAT}|{__version__}|{salt}"

    def _path(self, kind: str, name: str) -> Path:
        key = hashlib.sha256(f"{self.salt}|{kind}|{name}".encode()).hexdigest()
        return self.root / kind / key[:2] / f"{key}.json.gz"

    def get(self, kind: str, name: str) -> dict | None:
        path = self._path(kind, name)
        try:
            with gzip.open(path, "rt", encoding="utf-8") as stream:
                entry = json.load(stream)
        except (OSError, EOFError, ValueError):
            return None  # missing, unreadable or corrupt: rescan
        if not isinstance(entry, dict) or entry.get("salt") != self.salt or entry.get("name") != name:
            return None  # foreign entry (another version, rule set or key): rescan
        return entry.get("data")

    def put(self, kind: str, name: str, data: dict) -> None:
        """Best effort: a cache that cannot be written only costs speed, never correctness."""
        path = self._path(kind, name)
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with (
                    os.fdopen(handle, "wb") as raw,
                    gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=1) as out,
                ):
                    out.write(json.dumps({"salt": self.salt, "name": name, "data": data}).encode())
                os.replace(temporary, path)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temporary)


def clear(root: Path) -> int:
    """Remove every entry; returns how many files went."""
    if not root.exists():
        return 0
    count = sum(1 for item in root.rglob("*") if item.is_file())
    shutil.rmtree(root)
    return count


def hit_to_json(hit: Hit) -> dict:
    return {
        "rule_id": hit.rule_id,
        "title": hit.title,
        "severity": hit.severity.label,
        "path": hit.path,
        "line": hit.line,
        "hashed_secret": hit.hashed_secret,
        "redacted": hit.redacted,
        "pragma": hit.pragma,
        "more": hit.more,
    }


def hit_from_json(data: dict) -> Hit:
    return Hit(
        data["rule_id"],
        data["title"],
        Severity.parse(data["severity"]),
        data["path"],
        data["line"],
        data["hashed_secret"],
        data["redacted"],
        data["pragma"],
        data.get("more", 0),
    )


def ref_to_json(ref: LayerRef) -> dict:
    return {"index": ref.index, "digest": ref.digest, "created_by": ref.created_by}


def ref_from_json(data: dict) -> LayerRef:
    return LayerRef(data["index"], data["digest"], data["created_by"])
