from __future__ import annotations

import io
import os

import pytest

from hubguard.detect import chunks
from hubguard.detect.chunks import binary_spans, stream_chunks


@pytest.mark.parametrize("extra", [0, 1, 4095, 4096, 4097, 3 * 4096 - 513, 5 * 4096 + 17])
def test_binary_spans_are_the_chunks_stream_chunks_cuts(monkeypatch, extra):
    """A binary file read in place is cut by its size alone: the cuts must be the very ones a
    read of its bytes makes, or a token at a seam would be scanned by neither chunk."""
    monkeypatch.setattr(chunks, "CHUNK", 4096)
    monkeypatch.setattr(chunks, "OVERLAP", 512)
    data = b"\x7fELF" + os.urandom(4096 + extra - 4)
    read = [(start, body) for body, _, binary, start in stream_chunks(io.BytesIO(data)) if binary]
    assert [(start, len(body)) for start, body in read] == list(binary_spans(len(data)))
    assert all(data[start : start + len(body)] == body for start, body in read)
    assert read[0][0] == 0 and read[-1][0] + len(read[-1][1]) == len(data)


def test_text_chunk_offsets_point_at_their_bodies(monkeypatch):
    monkeypatch.setattr(chunks, "CHUNK", 4096)
    monkeypatch.setattr(chunks, "OVERLAP", 512)
    data = b"".join(b"line %d of some text\n" % number for number in range(2000))
    read = list(stream_chunks(io.BytesIO(data[:100]), data[:0]))
    assert read == [(data[:100], 0, False, 0)]  # one chunk: yielded whole, line 0
    pieces = list(stream_chunks(io.BytesIO(data[10:]), data[:10]))  # the head already read
    assert b"".join(body for body, *_ in pieces) == data  # text chunks do not overlap
    for body, line_no, binary, start in pieces:
        assert not binary and data[start : start + len(body)] == body
        assert line_no == data[:start].count(b"\n") + 1
