from __future__ import annotations

import os

import pytest

from hubguard.errors import ScanIncomplete
from hubguard.sources.blobs import BlobRef


def test_a_ref_reads_its_bytes_in_place(tmp_path):
    path = tmp_path / "layer.tar"
    path.write_bytes(b"header" + b"file bytes" + b"rest")
    ref = BlobRef(str(path), 0, 20).part(6, 10)
    assert ref == BlobRef(str(path), 6, 10)
    assert ref.read_all() == b"file bytes"


def test_bytes_gone_since_the_read_make_the_scan_incomplete(tmp_path):
    """A worker reads again what the reading process verified: a file cut short or removed in
    between is an incomplete scan, never a short read scanned as if whole."""
    path = tmp_path / "layer.tar"
    path.write_bytes(b"x" * 100)
    with pytest.raises(ScanIncomplete, match="changed during the scan"):
        BlobRef(str(path), 90, 20).read_all()
    path.unlink()
    with pytest.raises(ScanIncomplete, match=r"cannot read .* again"):
        BlobRef(str(path), 0, 10).read_all()


def test_a_worker_keeps_its_archive_open_and_still_sees_it_cut_short(tmp_path):
    path = tmp_path / "layer.tar"
    path.write_bytes(b"a" * 50 + b"b" * 50)
    kept: dict[str, int] = {}
    assert BlobRef(str(path), 0, 50).read_all(kept) == b"a" * 50
    assert BlobRef(str(path), 50, 50).read_all(kept) == b"b" * 50
    assert list(kept) == [str(path)]  # one open file for both reads
    with open(path, "r+b") as cut:
        cut.truncate(60)
    with pytest.raises(ScanIncomplete, match="changed during the scan"):
        BlobRef(str(path), 50, 50).read_all(kept)
    os.close(kept[str(path)])
