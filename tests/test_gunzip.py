"""Gzip reading (hubguard/gunzip.py): ISA-L and the standard library give the same bytes, and
every way a damaged stream fails is one the layer and archive readers turn into a clear note."""

from __future__ import annotations

import gzip
import io
import os

import pytest

from hubguard import gunzip

DAMAGED = {
    "bad deflate block": b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\xff" * 64,
    "cut short": gzip.compress(b"hello world\n" * 1000, mtime=0)[:-20],
    "header only": gzip.compress(b"x", mtime=0)[:5],
    "not gzip": b"\x1f\x8bplain text after a gzip magic",
}


@pytest.fixture(params=["isal", "gzip"])
def implementation(request, monkeypatch):
    if request.param == "isal":
        if gunzip.igzip is None:
            pytest.skip("python-isal is not installed here")
    else:
        monkeypatch.setattr(gunzip, "igzip", None)
    return request.param


def test_every_member_of_a_multi_member_stream_is_read(implementation):
    parts = [os.urandom(300_000), b"line\n" * 50_000, b""]
    stream = b"".join(gzip.compress(part, mtime=0) for part in parts)
    with gunzip.gzip_reader(io.BytesIO(stream)) as reader:
        assert reader.read() == b"".join(parts)


def test_reads_in_pieces_as_the_chunker_does(implementation):
    data = os.urandom(1 << 20) + b"tail\n"
    with gunzip.gzip_reader(io.BytesIO(gzip.compress(data, mtime=0))) as reader:
        pieces = iter(lambda: reader.read(65536), b"")
        assert b"".join(pieces) == data


@pytest.mark.parametrize("name", DAMAGED)
def test_a_damaged_stream_raises_an_error_the_readers_catch(implementation, name):
    reader = gunzip.gzip_reader(io.BytesIO(DAMAGED[name]))
    with pytest.raises((OSError, EOFError, *gunzip.GZIP_ERRORS)):
        reader.read()
