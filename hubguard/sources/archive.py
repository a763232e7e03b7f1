"""``docker save`` tarballs: legacy (manifest.json + ``<id>/layer.tar``) and OCI-in-tar (Docker 25+)."""

from __future__ import annotations

import contextlib
import tarfile
from collections.abc import Iterator

from hubguard.errors import InputError, ScanIncomplete
from hubguard.sources import shapes
from hubguard.sources.blobs import (
    CappedTarInfo,
    HeaderTooLarge,
    TarStore,
    read_json,
    read_json_digest,
    require_regular_file,
)
from hubguard.sources.image import Image, Layer, config_platform, diff_ids, layer_refs, require_platform
from hubguard.sources.oci import images_from_index

PREFIX = "docker-archive:"


class DockerArchive:
    """``docker-archive:PATH``: any ``docker save`` output, legacy or OCI-in-tar (a Source)."""

    def claims(self, spec: str) -> bool:
        return spec.startswith(PREFIX)

    def identity(self, spec: str) -> str:
        return ""  # the config digest is inside the tarball: only reading it (and its layers) can tell

    @contextlib.contextmanager
    def open(self, spec: str, *, platform: str | None, all_platforms: bool) -> Iterator[list[Image]]:
        path = spec[len(PREFIX) :]
        if not path:
            raise InputError("docker-archive: needs a path, e.g. docker-archive:app.tar")
        with open_archive(path, platform=platform, all_platforms=all_platforms) as images:
            if platform and not all_platforms:
                require_platform(spec, images, platform)
            yield images

    def stream(self, spec: str, identity: str, *, platform: str | None, all_platforms: bool) -> None:
        return None  # a file on disk: read in place, by seeking

    def diff_ids(self, spec: str) -> list[str]:
        with self.open(spec, platform=None, all_platforms=False) as images:
            return [layer.ref.digest for layer in images[0].layers] if images else []


SOURCE = DockerArchive()


@contextlib.contextmanager
def open_archive(path: str, *, platform: str | None, all_platforms: bool) -> Iterator[list[Image]]:
    """Index the tarball's members once, then read layers in place by seeking."""
    require_regular_file(path, f"docker-archive:{path}")
    try:
        tar = tarfile.open(path, mode="r:", tarinfo=CappedTarInfo)  # noqa: SIM115 - closed below
    except HeaderTooLarge as exc:
        raise ScanIncomplete(f"docker-archive:{path}: {exc}") from None
    except (OSError, tarfile.TarError) as exc:
        raise InputError(f"docker-archive:{path}: not a readable tar archive ({exc})") from None
    with tar:
        try:
            store = TarStore(tar, path)
        except HeaderTooLarge as exc:
            raise ScanIncomplete(f"docker-archive:{path}: {exc}") from None
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise ScanIncomplete(f"docker-archive:{path}: truncated or corrupt tar archive ({exc})") from None
        if store.has("index.json"):
            yield images_from_index(store, path, platform=platform, all_platforms=all_platforms)
        elif store.has("manifest.json"):
            yield _legacy_images(store, path)
        else:
            raise InputError(f"docker-archive:{path}: neither manifest.json nor index.json inside")


def _legacy_images(store: TarStore, path: str) -> list[Image]:
    source = f"docker-archive:{path}"
    manifest = shapes.legacy_manifest(read_json(store, "manifest.json", "manifest"), source)
    images = []
    for entry in manifest:
        document, config_digest = read_json_digest(store, entry["Config"], "image config")
        config = shapes.image_config(document, source)
        members = list(entry.get("Layers", []))
        digests = diff_ids(config)
        if len(digests) != len(members):
            raise InputError(f"{source}: {len(members)} layers but {len(digests)} diff_ids")
        layers = []
        for ref, member in zip(layer_refs(config, digests), members, strict=True):
            if not store.has(member):
                raise ScanIncomplete(f"{source}: layer {member} is missing")
            layers.append(Layer(ref=ref, blob=store.ref(member)))
        tags = entry.get("RepoTags") or []
        images.append(
            Image(
                name=tags[0] if tags else path,
                # The digest of the config bytes, not the member's name: two archives may share
                # a name, and the image cache is keyed by this ID.
                image_id=config_digest,
                config=config,
                layers=layers,
                platform=config_platform(config),
            )
        )
    return images
