"""Hostile and malformed images (docker-archive and OCI): digest lies, truncation, wrong shapes,
links, whiteouts, special files and oversized headers. Each runs the real CLI."""

from __future__ import annotations

import gzip
import io
import json
import os
import socket
import tarfile
import zlib
from pathlib import Path

import pytest

from tests.hostile.harness import (
    check,
    config_for,
    diff_id,
    layer,
    legacy_archive,
    must_report_or_fail,
    oci_layout,
    reported,
    run_cli,
    token,
)


def scan(tmp: Path, target: str, *extra: str):
    return run_cli(tmp, "scan", target, "--format", "json", *extra)


# --- 1. a layer's bytes must match its digest --------------------------------------------------


def test_a_layer_claiming_a_cached_clean_layers_diff_id_is_not_believed(tmp_path):
    secret = token()
    clean = layer({"app/readme.txt": b"hello\n"})
    leaky = layer({"app/readme.txt": f"GITHUB_TOKEN={secret}\n".encode()})
    first = scan(tmp_path, f"docker-archive:{legacy_archive(tmp_path / 'clean.tar', [clean])}")
    check(first, tmp_path, codes=(0,))
    poisoned = config_for([clean], env=["A=1"])  # claims the clean layer's diff_id
    archive = legacy_archive(tmp_path / "poisoned.tar", [leaky], config=poisoned)
    run = scan(tmp_path, f"docker-archive:{archive}")
    check(run, tmp_path, [secret], codes=(3,))
    assert "layer 0" in run.stderr and "does not match its digest" in run.stderr


def test_a_docker_archive_layer_that_does_not_match_its_diff_id_fails(tmp_path):
    secret = token()
    leaky = layer({"app/.env": f"GITHUB_TOKEN={secret}\n".encode()})
    config = config_for([leaky], diff_ids=[diff_id(layer({"x": b"1"}))])
    run = scan(tmp_path, f"docker-archive:{legacy_archive(tmp_path / 'a.tar', [leaky], config=config)}")
    check(run, tmp_path, [secret], codes=(3,))
    assert "does not match its digest" in run.stderr
    assert not any(b"hits" in data for data in _cache_entries(tmp_path)), "an unverified layer was cached"


def test_an_oci_blob_whose_bytes_do_not_match_its_digest_fails(tmp_path):
    secret = token()
    clean = gzip.compress(layer({"app/a.txt": b"clean\n"}), mtime=0)
    leaky_tar = layer({"app/a.txt": f"token: {secret}\n".encode()})
    leaky = gzip.compress(leaky_tar, mtime=0)
    # The config's diff_id is the leaky tar's own, so only the blob digest can catch the swap.
    root = oci_layout(tmp_path / "oci", [clean], config=config_for([leaky_tar]), swap={0: leaky})
    run = scan(tmp_path, f"oci:{root}")
    check(run, tmp_path, [secret], codes=(3,))
    assert "does not match its digest" in run.stderr


# --- 2. the image cache is keyed by the config's bytes, not its name ----------------------------


def test_two_archives_sharing_a_config_name_do_not_share_a_cache_entry(tmp_path):
    secret = token()
    base = layer({"app/a.txt": b"a\n"})
    first = legacy_archive(
        tmp_path / "one.tar", [base], config=config_for([base], env=["A=1"]), config_name="c.json"
    )
    check(scan(tmp_path, f"docker-archive:{first}"), tmp_path, codes=(0,))
    config = config_for([base], env=[f"GITHUB_TOKEN={secret}"])
    second = legacy_archive(tmp_path / "two.tar", [base], config=config, config_name="c.json")
    run = scan(tmp_path, f"docker-archive:{second}")
    check(run, tmp_path, [secret], codes=(1,))
    assert reported(run, secret)


# --- 8. moby's legacy save stores a repeated layer as a symlink member --------------------------


def test_a_symlinked_layer_member_inside_the_archive_is_followed(tmp_path):
    secret = token()
    repeated = layer({"app/.env": f"GITHUB_TOKEN={secret}\n".encode()})
    config = config_for([repeated, repeated])
    config_bytes = json.dumps(config).encode()
    archive = tmp_path / "save.tar"
    with tarfile.open(archive, "w") as tar:
        for name, data in (("c.json", config_bytes), ("a/layer.tar", repeated)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("b/layer.tar")
        link.type, link.linkname = tarfile.SYMTYPE, "../a/layer.tar"
        tar.addfile(link)
        manifest = json.dumps([{"Config": "c.json", "Layers": ["a/layer.tar", "b/layer.tar"]}]).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
    run = scan(tmp_path, f"docker-archive:{archive}")
    check(run, tmp_path, [secret], codes=(1,))
    assert reported(run, secret)


def test_a_symlinked_layer_member_pointing_outside_the_archive_is_not_followed(tmp_path):
    outside = tmp_path / "outside.tar"
    outside.write_bytes(layer({"x": b"1"}))
    config = config_for([layer({"x": b"1"})])
    archive = tmp_path / "save.tar"
    with tarfile.open(archive, "w") as tar:
        data = json.dumps(config).encode()
        info = tarfile.TarInfo("c.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("a/layer.tar")
        link.type, link.linkname = tarfile.SYMTYPE, "../../outside.tar"
        tar.addfile(link)
        manifest = json.dumps([{"Config": "c.json", "Layers": ["a/layer.tar"]}]).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
    run = scan(tmp_path, f"docker-archive:{archive}")
    check(run, tmp_path, codes=(3,))
    assert "missing" in run.stderr


# --- 10. truncated layers, cold and warm -------------------------------------------------------


def _leaky_layer(secret: str) -> bytes:
    return layer({"app/big.bin": os.urandom(64 * 1024), "app/.env": f"GITHUB_TOKEN={secret}\n".encode()})


@pytest.mark.parametrize("how", ["tar cut mid-member", "gzip cut short"])
def test_a_truncated_layer_is_one_clear_error(tmp_path, how):
    secret = token()
    data = _leaky_layer(secret)
    if how == "gzip cut short":
        data = gzip.compress(data, mtime=0)
    cut = data[: len(data) // 3]
    config = config_for([data])
    run = scan(tmp_path, f"docker-archive:{legacy_archive(tmp_path / 'cut.tar', [cut], config=config)}")
    check(run, tmp_path, [secret], codes=(3,))
    assert "layer 0" in run.stderr and "is truncated or corrupt" in run.stderr


def test_a_truncated_archive_fails_even_with_a_warm_cache(tmp_path):
    secret = token()
    data = _leaky_layer(secret)
    archive = legacy_archive(tmp_path / "whole.tar", [layer({"a": b"1"}), data])
    check(scan(tmp_path, f"docker-archive:{archive}"), tmp_path, [secret], codes=(1,))
    raw = archive.read_bytes()
    with tarfile.open(archive) as tar:
        members = {member.name: member for member in tar}
    cut_at = members["l1/layer.tar"].offset_data + members["l1/layer.tar"].size // 2
    truncated = tmp_path / "cut.tar"
    truncated.write_bytes(raw[:cut_at])
    run = scan(tmp_path, f"docker-archive:{truncated}")
    check(run, tmp_path, [secret], codes=(3,))
    assert "truncated or corrupt" in run.stderr or "missing" in run.stderr
    assert "scan complete" not in run.text


# --- 11. malformed shapes: exit 2, one line ----------------------------------------------------

GOOD_LAYER = layer({"a": b"1"})
SHAPES = {
    "manifest a list of strings": ({}, ["x"]),
    "entry without Config": ({}, [{"Layers": ["l0/layer.tar"]}]),
    "rootfs a string": ({"rootfs": "layers"}, None),
    "history entries not objects": ({"history": ["RUN x"]}, None),
    "created_by a number": ({"history": [{"created_by": 7}]}, None),
    "Env entries not strings": ({"config": {"Env": [1, {"a": 2}]}}, None),
    "Labels a list": ({"config": {"Labels": ["a"]}}, None),
    "diff_ids not digests": ({"rootfs": {"diff_ids": [5]}}, None),
}


@pytest.mark.parametrize("case", SHAPES)
def test_a_malformed_manifest_or_config_is_one_input_error(tmp_path, case):
    config_changes, manifest = SHAPES[case]
    config = {**config_for([GOOD_LAYER]), **config_changes}
    archive = legacy_archive(tmp_path / "bad.tar", [GOOD_LAYER], config=config, manifest=manifest)
    check(scan(tmp_path, f"docker-archive:{archive}"), tmp_path, codes=(2,))


@pytest.mark.parametrize(
    "manifest",
    [
        {"schemaVersion": 2, "config": "nope", "layers": []},
        {"schemaVersion": 2, "config": {"digest": 5}, "layers": []},
        {"schemaVersion": 2, "config": {"digest": "sha256:" + "0" * 64}, "layers": "all"},
        {"schemaVersion": 2, "config": {"digest": "sha256:" + "0" * 64}, "layers": [{"digest": ["x"]}]},
        ["not", "a", "manifest"],
    ],
)
def test_a_malformed_oci_manifest_is_one_input_error(tmp_path, manifest):
    root = oci_layout(tmp_path / "oci", [gzip.compress(GOOD_LAYER)])
    data = json.dumps(manifest).encode()
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    (root / "blobs" / "sha256" / digest).write_bytes(data)
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": f"sha256:{digest}",
                "size": len(data),
            }
        ],
    }
    (root / "index.json").write_text(json.dumps(index))
    check(scan(tmp_path, f"oci:{root}"), tmp_path, codes=(2,))


# --- 12. whiteout states -------------------------------------------------------------------


def test_a_root_opaque_whiteout_deletes_everything_below(tmp_path):
    secret = token()
    lower = layer({"app/.env": f"GITHUB_TOKEN={secret}\n".encode()})
    upper = layer({".wh..wh..opq": b"", "etc/hostname": b"x\n"})
    run = scan(tmp_path, f"docker-archive:{legacy_archive(tmp_path / 'a.tar', [lower, upper])}")
    check(run, tmp_path, [secret], codes=(1,))
    [finding] = [f for f in json.loads(run.stdout)["findings"] if f["path"] == "/app/.env"]
    assert finding["state"] == "deleted"


def test_a_whited_out_file_still_reachable_through_a_hardlink_is_present(tmp_path):
    secret = token()
    link = tarfile.TarInfo("srv/copy.env")
    link.type, link.linkname = tarfile.LNKTYPE, "app/.env"
    lower = layer({"app/.env": f"GITHUB_TOKEN={secret}\n".encode()}, extra=[link])
    upper = layer({"app/.wh..env": b""})
    run = scan(tmp_path, f"docker-archive:{legacy_archive(tmp_path / 'a.tar', [lower, upper])}")
    check(run, tmp_path, [secret], codes=(1,))
    [finding] = [f for f in json.loads(run.stdout)["findings"] if f["path"] == "/app/.env"]
    assert finding["state"] == "present"


# --- 13. special files are refused before they are opened ---------------------------------------


@pytest.mark.parametrize("kind", ["fifo", "socket", "directory"])
def test_a_special_file_as_the_archive_path_is_refused(tmp_path, kind):
    path = tmp_path / "special"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
    else:
        path.mkdir()
    run = run_cli(tmp_path, "scan", f"docker-archive:{path}", timeout=30)
    check(run, tmp_path, codes=(2,))
    assert "not a regular file" in run.stderr


# --- 15. oversized tar headers fail the layer, memory stays flat --------------------------------


def _sparse_member_archive(path: Path, header: bytes, payload_size: int, config: dict) -> None:
    """A legacy archive whose one layer is a tar with ``header`` claiming ``payload_size`` bytes,
    the payload written as a hole: gigabytes on paper, nothing on disk."""
    manifest = json.dumps([{"Config": "c.json", "Layers": ["l0/layer.tar"]}]).encode()
    prefix = b""
    for name, data in (("c.json", json.dumps(config).encode()), ("manifest.json", manifest)):
        info = tarfile.TarInfo(name)
        info.size = len(data)
        prefix += info.tobuf() + data + b"\0" * (-len(data) % 512)
    layer_size = len(header) + payload_size + 1024
    info = tarfile.TarInfo("l0/layer.tar")
    info.size = layer_size
    with open(path, "wb") as out:
        out.write(prefix + info.tobuf() + header)
        out.truncate(len(prefix) + 512 + layer_size + 1024)


def _header(name: str, kind: bytes, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.type = size, kind
    return info.tobuf(format=tarfile.USTAR_FORMAT)


@pytest.mark.parametrize("kind", [b"x", b"L"])  # a pax header; a GNU long name
def test_an_oversized_tar_header_in_a_layer_fails_it_with_flat_memory(tmp_path, kind):
    size = 700 * 1024 * 1024
    archive = tmp_path / "huge.tar"
    _sparse_member_archive(archive, _header("././@PaxHeader", kind, size), size, config_for([b""]))
    run = scan(tmp_path, f"docker-archive:{archive}")
    check(run, tmp_path, codes=(3,))
    assert "header" in run.stderr


def test_an_oversized_long_name_in_the_outer_archive_fails_with_flat_memory(tmp_path):
    size = 700 * 1024 * 1024
    archive = tmp_path / "outer.tar"
    with open(archive, "wb") as out:
        out.write(_header("././@LongLink", b"L", size))
        out.seek(size + 2048, os.SEEK_CUR)
        out.write(b"\0" * 512)
    run = scan(tmp_path, f"docker-archive:{archive}")
    check(run, tmp_path, codes=(3,))
    assert "header" in run.stderr


# --- bombs and traversal ----------------------------------------------------------------------


def test_a_gzip_bomb_layer_stays_within_memory(tmp_path):
    """A 640 MiB file of zeros in a layer of well under a megabyte."""
    size = 640 * 1024 * 1024
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
    info = tarfile.TarInfo("app/zeros.bin")
    info.size = size
    parts = [compressor.compress(info.tobuf())]
    chunk = b"\0" * (16 * 1024 * 1024)
    for _ in range(size // len(chunk)):
        parts.append(compressor.compress(chunk))
    parts.append(compressor.compress(b"\0" * 1024))
    parts.append(compressor.flush())
    bomb = b"".join(parts)
    uncompressed_digest = _zero_tar_digest(info.tobuf(), size)
    config = config_for([b""], diff_ids=[uncompressed_digest])
    run = scan(tmp_path, f"docker-archive:{legacy_archive(tmp_path / 'bomb.tar', [bomb], config=config)}")
    check(run, tmp_path, codes=(0,))


def _zero_tar_digest(header: bytes, size: int) -> str:
    import hashlib

    digest = hashlib.sha256(header)
    chunk = b"\0" * (16 * 1024 * 1024)
    for _ in range(size // len(chunk)):
        digest.update(chunk)
    digest.update(b"\0" * 1024)
    return "sha256:" + digest.hexdigest()


def test_traversal_names_and_links_write_nothing_outside(tmp_path):
    secret = token()
    marker = f"hubguard-escape-{os.getpid()}"
    evil_link = tarfile.TarInfo("app/link")
    evil_link.type, evil_link.linkname = tarfile.SYMTYPE, "/etc/shadow"
    hard = tarfile.TarInfo("app/hard")
    hard.type, hard.linkname = tarfile.LNKTYPE, "../../../../etc/passwd"
    data = layer(
        {f"../../../../tmp/{marker}": f"GITHUB_TOKEN={secret}\n".encode(), f"/{marker}": b"x"},
        extra=[evil_link, hard],
    )
    run = scan(tmp_path, f"docker-archive:{legacy_archive(tmp_path / 'a.tar', [data])}")
    check(run, tmp_path, [secret], codes=(1,))
    must_report_or_fail(run, secret)
    for where in (Path("/tmp") / marker, Path("/") / marker, tmp_path.parent / marker):
        assert not where.exists()
    assert f"/tmp/{marker}" in run.stdout  # normalised inside the image


def test_a_deep_tree_and_many_members_stay_bounded(tmp_path):
    secret = token()
    deep = "/".join(["d"] * 400)
    files = {f"{deep}/.env": f"GITHUB_TOKEN={secret}\n".encode()}
    files.update({f"many/{i}": b"" for i in range(20000)})
    run = scan(tmp_path, f"docker-archive:{legacy_archive(tmp_path / 'a.tar', [layer(files)])}")
    check(run, tmp_path, [secret], codes=(1,))
    assert reported(run, secret)


def test_an_oci_layout_with_a_blob_symlinked_outside_is_refused(tmp_path):
    data = gzip.compress(GOOD_LAYER)
    root = oci_layout(tmp_path / "oci", [data])
    outside = tmp_path / "outside"
    outside.write_bytes(data)
    [blob] = [p for p in (root / "blobs" / "sha256").iterdir() if p.read_bytes() == data]
    blob.unlink()
    blob.symlink_to(outside)
    run = scan(tmp_path, f"oci:{root}")
    check(run, tmp_path, codes=(2, 3))


def _cache_entries(tmp: Path) -> list[bytes]:
    return [gzip.decompress(p.read_bytes()) for p in (tmp / "cache").rglob("*.json.gz")]


def test_null_history_config_and_labels_are_accepted(tmp_path):
    config = {**config_for([GOOD_LAYER]), "history": None, "config": {"Env": None, "Labels": None}}
    archive = legacy_archive(tmp_path / "nulls.tar", [GOOD_LAYER], config=config)
    check(scan(tmp_path, f"docker-archive:{archive}"), tmp_path, codes=(0,))
