"""Layer tars: whiteouts and states, hostile names, compression sniffed from bytes."""

from __future__ import annotations

import gzip
import io
import json
import tarfile

import pytest
import zstandard

from hubguard.errors import ScanIncomplete
from hubguard.sources.layers import LayerIndex, iter_layer_files, normalize


def test_states_decided_by_a_later_layer():
    later = LayerIndex(
        files={"/app/config.yaml", "/srv"},
        whiteouts={"/app/old.txt", "/data"},
        opaque_dirs={"/keys"},
    )
    assert later.hides("/app/config.yaml") == "overwritten"
    assert later.hides("/app/old.txt") == "deleted"
    assert later.hides("/data/deep/file") == "deleted"
    assert later.hides("/keys/id_rsa") == "deleted"
    assert later.hides("/srv/www/index.html") == "overwritten"  # a directory replaced by a file
    assert later.hides("/app/other.txt") is None
    assert later.hides("/keys") is None  # the opaque directory itself stays


def test_a_directory_in_a_later_layer_overwrites_a_file():
    later = LayerIndex(dirs={"/app/config.yaml"})
    assert later.hides("/app/config.yaml") == "overwritten"
    assert later.hides("/app/config.yaml.bak") is None
    assert LayerIndex(dirs={"/app"}).hides("/app/config.yaml") is None  # the same directory again


def test_an_index_survives_its_json_round_trip():
    index = LayerIndex(files={"/a", "/b"}, dirs={"/d"}, whiteouts={"/w"}, opaque_dirs={"/o"})
    assert LayerIndex.from_json(json.loads(json.dumps(index.to_json()))) == index


def test_hostile_names_cannot_climb_out():
    assert normalize("../../etc/passwd") == "/etc/passwd"
    assert normalize("./app//x") == "/app/x"
    assert normalize("/abs/path") == "/abs/path"


def layer_bytes(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.mark.parametrize(
    "compress",
    [lambda b: b, gzip.compress, zstandard.ZstdCompressor().compress],
    ids=["plain", "gzip", "zstd"],
)
def test_compression_is_sniffed(compress):
    raw = layer_bytes({"app/a.txt": b"hello", "app/.wh.gone": b"", "app/d/.wh..wh..opq": b""})
    index = LayerIndex()
    layer = iter_layer_files(io.BytesIO(compress(raw)), index, "L")
    files = [(path, reader.read()) for path, _, reader, _ in layer]
    assert files == [("/app/a.txt", b"hello")]
    assert index.whiteouts == {"/app/gone"} and index.opaque_dirs == {"/app/d"}


def test_corrupt_layer_is_incomplete_not_a_crash():
    raw = gzip.compress(layer_bytes({"a": b"x" * 10000}))
    with pytest.raises(ScanIncomplete):
        list(iter_layer_files(io.BytesIO(raw[: len(raw) // 2]), LayerIndex(), "L"))
    with pytest.raises(ScanIncomplete):
        list(iter_layer_files(io.BytesIO(b"\x28\xb5\x2f\xfd" + b"garbage" * 100), LayerIndex(), "L"))


def test_a_zstd_layer_of_several_frames_is_read_to_its_end():
    """containerd may write a layer as several zstd frames: every frame is part of the tar."""
    raw = layer_bytes({"app/a.txt": b"first", "app/b.txt": b"second" * 1000})
    compressor = zstandard.ZstdCompressor()
    half = len(raw) // 2
    framed = compressor.compress(raw[:half]) + compressor.compress(raw[half:])
    layer = iter_layer_files(io.BytesIO(framed), LayerIndex(), "L")
    files = [(path, reader.read()) for path, _, reader, _ in layer]
    assert [path for path, _ in files] == ["/app/a.txt", "/app/b.txt"]
    assert files[1][1] == b"second" * 1000


def test_directories_and_names_are_indexed_as_the_image_sees_them():
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        tar.addfile(_directory("app/conf.d"))
    index = LayerIndex()
    assert list(iter_layer_files(io.BytesIO(out.getvalue()), index, "L")) == []
    assert index.dirs == {"/app/conf.d"} and not index.files
    assert normalize(" leading space") == "/ leading space"


def _directory(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    return info


def test_a_corrupt_layer_names_itself_and_the_cause():
    raw = gzip.compress(layer_bytes({"a": b"x" * 10000}))
    with pytest.raises(ScanIncomplete) as raised:
        list(iter_layer_files(io.BytesIO(raw[: len(raw) // 2]), LayerIndex(), "sha256:abc"))
    assert str(raised.value).startswith("layer sha256:abc is truncated or corrupt (")
    with pytest.raises(ScanIncomplete, match=r"^layer sha256:abc is truncated or corrupt \("):
        list(iter_layer_files(io.BytesIO(b"\x28\xb5\x2f\xfd" + b"garbage" * 100), LayerIndex(), "sha256:abc"))
