"""``docker save`` tarballs: legacy (manifest.json + ``<id>/layer.tar``) and OCI-in-tar (Docker 25+)."""

from __future__ import annotations

import contextlib
import tarfile
from collections.abc import Iterator

from hubguard.errors import InputError, ScanIncomplete
from hubguard.sources.blobs import TarStore, read_json
from hubguard.sources.image import Image, Layer, config_platform, diff_ids, layer_refs
from hubguard.sources.oci import images_from_index


@contextlib.contextmanager
def open_archive(path: str, *, platform: str | None, all_platforms: bool) -> Iterator[list[Image]]:
    """Index the tarball's members once, then read layers in place by seeking."""
    try:
        tar = tarfile.open(path, mode="r:")  # noqa: SIM115 - closed by the with below
    except FileNotFoundError:
        raise InputError(f"docker-archive:{path}: no such file") from None
    except (OSError, tarfile.TarError) as exc:
        raise InputError(f"docker-archive:{path}: not a readable tar archive ({exc})") from None
    with tar:
        try:
            store = TarStore(tar, path)
        except tarfile.TarError as exc:
            raise InputError(f"docker-archive:{path}: corrupt tar archive ({exc})") from None
        if store.has("index.json"):
            yield images_from_index(store, path, platform=platform, all_platforms=all_platforms)
        elif store.has("manifest.json"):
            yield _legacy_images(store, path)
        else:
            raise InputError(f"docker-archive:{path}: neither manifest.json nor index.json inside")


def _legacy_images(store: TarStore, path: str) -> list[Image]:
    manifest = read_json(store, "manifest.json", "manifest")
    if not isinstance(manifest, list) or not manifest:
        raise InputError(f"docker-archive:{path}: manifest.json lists no image")
    images = []
    for entry in manifest:
        config = read_json(store, entry["Config"], "image config")
        if not isinstance(config, dict):
            raise InputError(f"docker-archive:{path}: image config is not an object")
        members = list(entry.get("Layers", []))
        digests = diff_ids(config)
        if len(digests) != len(members):
            raise InputError(f"docker-archive:{path}: {len(members)} layers but {len(digests)} diff_ids")
        layers = []
        for ref, member in zip(layer_refs(config, digests), members, strict=True):
            if not store.has(member):
                raise ScanIncomplete(f"docker-archive:{path}: layer {member} is missing")
            layers.append(Layer(ref=ref, blob=store.ref(member)))
        tags = entry.get("RepoTags") or []
        config_name = entry["Config"].rsplit("/", 1)[-1].removesuffix(".json")
        images.append(
            Image(
                name=tags[0] if tags else path,
                image_id=f"sha256:{config_name}",
                config=config,
                layers=layers,
                platform=config_platform(config),
            )
        )
    return images
