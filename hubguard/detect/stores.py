"""Entries of the compiled-rule stores (``prefilter/``, ``packs/`` in the cache directory): what
start-up would otherwise compute again at every run, each checked when it is read back."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def write_entry(entry: Path, data: bytes) -> None:
    """Write ``entry`` whole or not at all: a partial file renamed over it, so a scan running
    beside this one reads the old entry or the new. A store that cannot be written (read-only,
    a file in the way) only costs the next run the work again."""
    partial = entry.with_suffix(f".{os.getpid()}.tmp")
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(data)
        os.replace(partial, entry)
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
