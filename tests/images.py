"""Write the image formats the Docker 20.10 engine here cannot: OCI layouts and OCI-in-tar.

They are made from a real ``docker save`` archive, so the bytes are the engine's own; only the
packaging (and the layer compression) differs, as with Docker 25+ and containerd exports.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import zstandard

from examples.save_archive import write_save_archive

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"


def _blob(blobs: dict[str, bytes], data: bytes) -> dict:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    blobs[digest] = data
    return {"digest": digest, "size": len(data)}


def compress(data: bytes, how: str) -> bytes:
    if how == "gzip":
        return gzip.compress(data, mtime=0)
    if how == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    return data


def oci_blobs_from_save(
    save_tar: Path, compression: str = "gzip", platforms: tuple[str, ...] = ()
) -> tuple[dict, dict[str, bytes]]:
    """(index.json, blobs by digest) holding the saved image, for one or several platforms.

    With ``platforms``, the same image is listed under each platform in a nested index, as a
    multi-platform push would; the config's architecture is rewritten per platform.
    """
    blobs: dict[str, bytes] = {}
    with tarfile.open(save_tar) as tar:
        entry = json.load(tar.extractfile("manifest.json"))[0]
        config = json.load(tar.extractfile(entry["Config"]))
        layers = [tar.extractfile(name).read() for name in entry["Layers"]]
    layer_descs = [
        {"mediaType": "application/vnd.oci.image.layer.v1.tar", **_blob(blobs, compress(raw, compression))}
        for raw in layers
    ]

    def manifest_for(cfg: dict) -> dict:
        config_desc = {"mediaType": "application/vnd.oci.image.config.v1+json"}
        config_desc.update(_blob(blobs, json.dumps(cfg).encode()))
        manifest = {"schemaVersion": 2, "mediaType": MANIFEST, "config": config_desc, "layers": layer_descs}
        return {"mediaType": MANIFEST, **_blob(blobs, json.dumps(manifest).encode())}

    name = {"io.containerd.image.name": (entry.get("RepoTags") or ["hubguard/test:oci"])[0]}
    if not platforms:
        top = manifest_for(config)
    else:
        children = []
        for platform in platforms:
            os_name, arch = platform.split("/")[:2]
            child = manifest_for({**config, "os": os_name, "architecture": arch})
            child["platform"] = {"os": os_name, "architecture": arch}
            children.append(child)
        nested = {"schemaVersion": 2, "mediaType": INDEX, "manifests": children}
        top = {"mediaType": INDEX, **_blob(blobs, json.dumps(nested).encode())}
    index = {"schemaVersion": 2, "mediaType": INDEX, "manifests": [{**top, "annotations": name}]}
    return index, blobs


def write_oci_dir(save_tar: Path, dest: Path, **options) -> Path:
    index, blobs = oci_blobs_from_save(save_tar, **options)
    (dest / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (dest / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (dest / "index.json").write_text(json.dumps(index))
    for digest, data in blobs.items():
        (dest / "blobs" / "sha256" / digest.split(":")[1]).write_bytes(data)
    return dest


def write_oci_tar(save_tar: Path, dest: Path, *, blobs_first: bool = True, drop: str = "", **options) -> Path:
    """A Docker 25+-style save: blobs (first, by default), then index.json and oci-layout.

    ``drop`` names a blob digest to leave out, as partial containerd exports do.
    """
    index, blobs = oci_blobs_from_save(save_tar, **options)
    members = [(f"blobs/sha256/{d.split(':')[1]}", data) for d, data in blobs.items() if d != drop]
    meta = [("index.json", json.dumps(index).encode()), ("oci-layout", b'{"imageLayoutVersion": "1.0.0"}')]
    with tarfile.open(dest, "w") as tar:
        for name, data in members + meta if blobs_first else meta + members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return dest


def layer_digests(save_tar: Path, compression: str = "gzip") -> list[str]:
    """Blob digests of the layers as :func:`oci_blobs_from_save` writes them."""
    index, blobs = oci_blobs_from_save(save_tar, compression=compression)
    manifest = json.loads(blobs[index["manifests"][0]["digest"]])
    return [layer["digest"] for layer in manifest["layers"]]


def write_docker_archive(
    path: Path, layers: list[bytes], *, config: dict | None = None, tag: str = "hubguard-test/made:1"
) -> Path:
    """A legacy ``docker save`` archive of ``layers`` (bottom first), written without an engine.

    ``config`` is merged into the image config (``config``, ``history``, ...); each layer's
    history step defaults to ``step N``.
    """
    image_config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(d).hexdigest() for d in layers]},
        "history": [{"created_by": f"step {number}"} for number in range(len(layers))],
        **(config or {}),
    }
    write_save_archive(path, image_config, layers, tag)
    return path
