"""The lean tar reader: the same entries as ``tarfile`` on every format and on a real engine
export, and a failed read (never a quiet end) where a header or its data is damaged."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import BinaryIO

import docker
import pytest

from hubguard.errors import ScanIncomplete
from hubguard.sources.blobs import MAX_PAX_HEADER, BlobRef, HeaderTooLarge
from hubguard.sources.layers import LayerIndex, iter_layer_files
from hubguard.sources.tarstream import CorruptTar, Member, TarReader

Entry = tuple[str, str, int, str, str]  # name, kind, size of data, link target, data digest


def kind(member: tarfile.TarInfo | Member) -> str:
    return "file" if member.isreg() else "dir" if member.isdir() else "link" if member.islnk() else "other"


def entry(member: tarfile.TarInfo | Member, body: bytes) -> Entry:
    digest = hashlib.sha256(body).hexdigest()
    return member.name.rstrip("/"), kind(member), len(body), member.linkname, digest


def lean_entries(stream: BinaryIO) -> list[Entry]:
    return [entry(member, data.read() if data else b"") for member, data in TarReader(stream)]


def tarfile_entries(stream: BinaryIO) -> list[Entry]:
    found = []
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            tar.members.clear()
            reader = tar.extractfile(member) if member.isreg() else None
            found.append(entry(member, reader.read() if reader is not None else b""))
    return found


def varied_archive(tar_format: int) -> bytes:
    """Every kind of entry a layer holds, with names and sizes at the format's edges."""
    out = io.BytesIO()
    with tarfile.open(
        fileobj=out, mode="w", format=tar_format, encoding="utf-8", errors="surrogateescape"
    ) as tar:

        def add(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", link: str = "") -> None:
            info = tarfile.TarInfo(name)
            info.type, info.size, info.linkname = kind, len(data), link
            tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)

        add("etc", tarfile.DIRTYPE)
        for size in (0, 1, 511, 512, 513, 100_000):
            add(f"etc/file-{size}", data=bytes(range(256)) * (size // 256) + b"x" * (size % 256))
        add("deep/" + "d" * 90 + "/" + "n" * 80 + "/config.yml", data=b"key: value\n")  # ustar prefix
        add("etc/hard", tarfile.LNKTYPE, link="etc/file-1")
        add("etc/fifo", tarfile.FIFOTYPE)
        add("etc/ünïcode-ñame", data=b"text")
        if tar_format != tarfile.USTAR_FORMAT:  # names past ustar's 100 + 155 bytes
            add("long/" + "x" * 300, data=b"past every prefix\n")  # GNU long name / pax path
            add("etc/soft", tarfile.SYMTYPE, link="../" + "t" * 150)
            add("etc/raw-\udcff-name", data=b"a name that is not UTF-8")
        add("etc/.wh.gone")
    return out.getvalue()


@pytest.mark.parametrize("tar_format", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_every_format_reads_as_tarfile_reads_it(tar_format):
    raw = varied_archive(tar_format)
    entries = lean_entries(io.BytesIO(raw))
    assert entries == tarfile_entries(io.BytesIO(raw))
    assert [name for name, *_ in entries][:3] == ["etc", "etc/file-0", "etc/file-1"]
    assert len(entries) == (12 if tar_format == tarfile.USTAR_FORMAT else 15)


@pytest.mark.engine
def test_a_real_engine_export_reads_as_tarfile_reads_it(
    real_stack: str, docker_client: docker.DockerClient, tmp_path
):
    """Layers the engine's own Go writer made from a real Debian + apt + pip + npm image."""
    saved = tmp_path / "stack.tar"
    with saved.open("wb") as out:
        for chunk in docker_client.images.get(real_stack).save(chunk_size=1024 * 1024):
            out.write(chunk)
    with tarfile.open(saved) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))
        layers = [outer.getmember(name) for name in manifest[0]["Layers"]]
    assert len(layers) == 2
    total = 0
    for layer in layers:
        entries = lean_entries(BlobRef(str(saved), layer.offset_data, layer.size).open())
        assert entries == tarfile_entries(BlobRef(str(saved), layer.offset_data, layer.size).open())
        total += len(entries)
    assert total > 30_000  # the whole of it, not a first few entries


def test_data_left_unread_is_skipped_to_the_next_entry():
    raw = varied_archive(tarfile.PAX_FORMAT)
    names = [member.name for member, _ in TarReader(io.BytesIO(raw))]  # no data read at all
    assert names == [entry[0] for entry in tarfile_entries(io.BytesIO(raw))]


def header(
    name: str, size: int = 0, kind: bytes = tarfile.REGTYPE, pax: dict[str, str] | None = None
) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.type = size, kind
    if pax is not None:
        info.pax_headers = pax
        return info.tobuf(tarfile.PAX_FORMAT)
    return info.tobuf(tarfile.USTAR_FORMAT)


def padded(data: bytes) -> bytes:
    return data + bytes(-len(data) % 512)


END = bytes(1024)


def test_a_pax_size_and_path_apply_to_the_next_entry_only():
    body = b"x" * 700
    raw = header("short", len(body), pax={"path": "a/" + "p" * 200}) + padded(body) + header("next") + END
    assert [(m.name, m.size) for m, _ in TarReader(io.BytesIO(raw))] == [("a/" + "p" * 200, 700), ("next", 0)]


def test_a_global_pax_header_is_not_applied_as_the_engine_does_not_apply_it():
    records = b"31 path=etc/from-global-header\n"  # 31 bytes, its length included
    global_header = header("pax_global_header", len(records), tarfile.XGLTYPE) + padded(records)
    raw = global_header + header("etc/own-name") + END
    assert [m.name for m, _ in TarReader(io.BytesIO(raw))] == ["etc/own-name"]


def test_a_header_only_entry_carries_no_data_whatever_its_size_says():
    """A directory claiming 512 bytes: like the engine, the next header follows at once."""
    raw = header("dir", 512, tarfile.DIRTYPE) + header("after", 3) + padded(b"abc") + END
    assert [(m.name, d.read() if d else None) for m, d in TarReader(io.BytesIO(raw))] == [
        ("dir", None),
        ("after", b"abc"),
    ]


def corrupted_checksum(raw: bytes) -> bytes:
    block = bytearray(raw)
    block[0] ^= 1  # the name changes, the stored checksum does not
    return bytes(block)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(
            lambda first, second: first + corrupted_checksum(second) + END, id="bad checksum mid-archive"
        ),
        pytest.param(lambda first, second: first + second[:300], id="header cut short"),
        pytest.param(lambda first, second: first + second + b"ab", id="data cut short"),
        pytest.param(
            lambda first, second: first + second[:124] + b"0000000008\0\0" + second[136:] + END, id="bad size"
        ),
        pytest.param(
            lambda first, second: (
                first + header("x", 9, tarfile.XHDTYPE) + padded(b"9 path=a") + second + END
            ),
            id="malformed pax record",
        ),
    ],
)
def test_damage_anywhere_fails_the_read_instead_of_ending_it(damage):
    first = header("first", 3) + padded(b"abc")
    second = header("second", 5) + padded(b"hello")
    with pytest.raises(CorruptTar):
        lean_entries(io.BytesIO(damage(first, second)))


def test_an_oversized_pax_header_fails_before_its_payload_is_read():
    raw = header("x", MAX_PAX_HEADER + 1, tarfile.XHDTYPE)  # no payload follows at all
    with pytest.raises(HeaderTooLarge):
        lean_entries(io.BytesIO(raw))


def test_a_layer_damaged_after_its_first_file_is_an_incomplete_scan(tmp_path: Path):
    """``tarfile`` ended such a layer quietly at the damage: the files after it went unscanned."""
    raw = (
        header("etc/first", 3)
        + padded(b"abc")
        + corrupted_checksum(header("etc/second", 5))
        + padded(b"hello")
    )
    with pytest.raises(ScanIncomplete, match="truncated or corrupt"):
        list(iter_layer_files(io.BytesIO(raw + END), LayerIndex(), "L"))


def test_a_members_offset_is_where_its_bytes_start_in_the_stream():
    """Where a worker reads a file in place, and what a progress bar shows: not the read-ahead
    (a MiB), the entries handed out."""
    raw = header("a", 700) + padded(b"x" * 700) + header("b") + END
    offsets = [data.offset for _, data in TarReader(io.BytesIO(raw)) if data is not None]
    assert offsets == [512, 512 + 1024 + 512]
    assert raw[offsets[0] : offsets[0] + 700] == b"x" * 700
