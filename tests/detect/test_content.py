"""One file's scan (hubguard/detect/content.py): a file whose bytes are at hand
(``inspect_bytes``) is reported exactly as the same file read as a stream (``inspect_file``)."""

from __future__ import annotations

import gzip
import io
import zipfile

import pytest

from hubguard.detect import chunks, content
from hubguard.detect.engine import Detector
from hubguard.detect.rules import load_rules
from hubguard.model import hash_secret


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(load_rules())


def zipped(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(name, data)
    return out.getvalue()


def files(token: str) -> dict[str, bytes]:
    line = f"GITHUB_TOKEN={token}\n".encode()
    return {
        "/app/config.txt": b"# settings\n" * 50 + line + b"done\n",
        "/app/bin/tool": b"\x7fELF\x00\x00" + b"\x00" * 4000 + token.encode() + b"\x00" * 100,
        "/app/.env": b"DB_PASSWORD=" + token[4:].encode() + b"\n",  # a credential file by its name
        "/root/.ssh/id_rsa": b"not a key at all\n",
        "/app/lib.jar": zipped("conf/app.properties", line),
        "/app/notes.txt.gz": gzip.compress(line),
        "/app/utf16.txt": ("\ufeff" + line.decode()).encode("utf-16-le"),
        "/app/empty.txt": b"",
    }


def reported(result: content.FileResult) -> tuple:
    hits = sorted((h.rule_id, h.path, h.line, h.hashed_secret, h.redacted) for h in result.hits)
    return hits, sorted(result.notes)


def test_bytes_at_hand_are_reported_as_the_stream_would_be(detector, fake_token):
    token = fake_token("ghp_{alnum:36}")
    seen = set()
    for path, data in files(token).items():
        streamed = content.inspect_file(detector, path, len(data), io.BytesIO(data))
        assert reported(content.inspect_bytes(detector, path, data)) == reported(streamed), path
        seen |= {hit.hashed_secret for hit in streamed.hits}
    assert hash_secret(token) in seen  # the cases hold findings, not only silence


@pytest.mark.parametrize("extra", [-1, 0, 1])
def test_a_file_at_the_chunk_size_is_reported_alike(detector, fake_token, monkeypatch, extra):
    monkeypatch.setattr(chunks, "CHUNK", 4096)
    monkeypatch.setattr(content, "CHUNK", 4096)
    token = fake_token("ghp_{alnum:36}")
    tail = f"k={token}\n".encode()
    data = b"x = 1\n" * ((4096 + extra - len(tail)) // 6) + b"#" * ((4096 + extra - len(tail)) % 6) + tail
    assert len(data) == 4096 + extra
    streamed = content.inspect_file(detector, "/app/big.txt", len(data), io.BytesIO(data))
    assert reported(content.inspect_bytes(detector, "/app/big.txt", data)) == reported(streamed)
    assert [hit.hashed_secret for hit in streamed.hits] == [hash_secret(token)]
