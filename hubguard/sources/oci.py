"""OCI image layouts (``index.json`` + ``blobs/``), on disk or inside a Docker 25+ save tarball."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from hubguard.errors import InputError, ScanIncomplete
from hubguard.sources import shapes
from hubguard.sources.blobs import BlobStore, DirStore, blob_name, read_json, read_json_digest
from hubguard.sources.image import (
    Image,
    Layer,
    config_platform,
    diff_ids,
    host_platform,
    layer_refs,
    platform_of,
    require_platform,
)

INDEX_TYPES = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
}
NAME_ANNOTATIONS = ("io.containerd.image.name", "org.opencontainers.image.ref.name")
PREFIX = "oci:"


class OciLayout:
    """``oci:DIR``: an OCI image layout on disk (a Source)."""

    def claims(self, spec: str) -> bool:
        return spec.startswith(PREFIX)

    def identity(self, spec: str) -> str:
        return ""  # which manifest (platform) is meant is decided while reading the index

    @contextlib.contextmanager
    def open(self, spec: str, *, platform: str | None, all_platforms: bool) -> Iterator[list[Image]]:
        path = spec[len(PREFIX) :]
        if not path:
            raise InputError("oci: needs a directory, e.g. oci:./layout")
        images = open_layout(path, platform=platform, all_platforms=all_platforms)
        if platform and not all_platforms:
            require_platform(spec, images, platform)
        yield images

    def stream(self, spec: str, identity: str, *, platform: str | None, all_platforms: bool) -> None:
        return None  # a directory: blobs are read in place

    def diff_ids(self, spec: str) -> list[str]:
        with self.open(spec, platform=None, all_platforms=False) as images:
            return [layer.ref.digest for layer in images[0].layers] if images else []


SOURCE = OciLayout()


def open_layout(path: str, *, platform: str | None, all_platforms: bool) -> list[Image]:
    root = Path(path)
    if not (root / "index.json").is_file():
        raise InputError(f"oci:{path}: not an OCI layout (no index.json)")
    return images_from_index(DirStore(root), path, platform=platform, all_platforms=all_platforms)


def images_from_index(
    store: BlobStore, source: str, *, platform: str | None, all_platforms: bool
) -> list[Image]:
    """Every image the layout's index names, with one platform (or all) chosen per image."""
    descriptors = shapes.oci_index(read_json(store, "index.json", "OCI index"), f"{source}: index.json")
    images = []
    for descriptor in descriptors:
        name = _name(descriptor) or source
        candidates = _manifests(store, descriptor, name)
        for manifest_descriptor in _choose(candidates, platform, all_platforms, name):
            images.append(_image(store, manifest_descriptor, name))
    if not images:
        raise InputError(f"{source}: the layout holds no image")
    return images


def _name(descriptor: dict) -> str:
    annotations = descriptor.get("annotations") or {}
    return next((annotations[key] for key in NAME_ANNOTATIONS if key in annotations), "")


def _manifests(store: BlobStore, descriptor: dict, name: str, depth: int = 0) -> list[dict]:
    """Flatten nested indexes into image-manifest descriptors (attestations left out)."""
    if depth > 4:
        raise InputError(f"{name}: image indexes nested too deeply")
    if descriptor.get("mediaType") not in INDEX_TYPES:
        return [descriptor]
    child_index = read_json(store, blob_name(descriptor["digest"]), "image index")
    found = []
    for child in shapes.oci_index(child_index, f"{name}: image index {descriptor['digest']}"):
        annotations = child.get("annotations") or {}
        if annotations.get("vnd.docker.reference.type") == "attestation-manifest":
            continue
        found.extend(_manifests(store, child, name, depth + 1))
    return found


def _choose(candidates: list[dict], wanted: str | None, all_platforms: bool, name: str) -> list[dict]:
    """The host's platform by default; ``--platform`` to choose; ``--all-platforms`` for each."""
    with_platform = [c for c in candidates if c.get("platform")]
    if len(candidates) <= 1 or not with_platform:
        return candidates[:1] if not all_platforms else candidates
    if all_platforms:
        return candidates
    target = wanted or host_platform()
    for candidate in candidates:
        if _platform_matches(platform_of(candidate.get("platform") or {}), target):
            return [candidate]
    available = ", ".join(platform_of(c.get("platform") or {}) for c in candidates)
    raise InputError(f"{name}: no {target} image (available: {available}); use --platform")


def _platform_matches(found: str, target: str) -> bool:
    """``linux/arm64`` matches ``linux/arm64/v8``; a variant, when asked for, must match."""
    return found == target or (target.count("/") == 1 and found.split("/")[:2] == target.split("/"))


def _image(store: BlobStore, descriptor: dict, name: str) -> Image:
    manifest = read_json(store, blob_name(descriptor["digest"]), "image manifest")
    config_descriptor, layer_descriptors = shapes.oci_manifest(
        manifest, f"{name}: manifest {descriptor['digest']}"
    )
    document, config_digest = read_json_digest(store, blob_name(config_descriptor["digest"]), "image config")
    if config_digest != config_descriptor["digest"]:
        # The image cache is keyed by this digest: a config that lies about it could reuse a
        # clean image's cached Env and history.
        raise ScanIncomplete(f"{name}: image config does not match its digest {config_descriptor['digest']}")
    config = shapes.image_config(document, name)
    blobs = [layer["digest"] for layer in layer_descriptors]
    digests = diff_ids(config)
    if len(digests) != len(blobs):
        raise InputError(f"{name}: {len(blobs)} layers but {len(digests)} diff_ids in the config")
    layers = []
    for ref, blob in zip(layer_refs(config, digests), blobs, strict=True):
        member = blob_name(blob)
        if not store.has(member):
            raise ScanIncomplete(f"{name}: layer blob {blob} is missing, so it cannot be scanned")
        layers.append(Layer(ref=ref, blob=store.ref(member), blob_digest=blob))
    return Image(
        name=name,
        image_id=config_digest,
        config=config,
        layers=layers,
        platform=config_platform(config),
    )
