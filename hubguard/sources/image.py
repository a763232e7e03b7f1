"""The shape every source produces: an image config and its layers, openable as streams."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from hubguard.errors import InputError
from hubguard.model import LayerRef
from hubguard.sources.blobs import BlobRef


@dataclass
class Layer:
    """One layer: where it sits in the image, and where its (maybe compressed) tar bytes are."""

    ref: LayerRef
    blob: BlobRef
    blob_digest: str = ""  # what the (maybe compressed) bytes must hash to; "" = only the diff_id


@dataclass
class Image:
    name: str
    image_id: str
    config: dict
    layers: list[Layer] = field(default_factory=list)
    platform: str = ""


def layer_refs(config: dict, digests: list[str]) -> list[LayerRef]:
    """Pair each layer with the history step that made it, skipping ``empty_layer`` entries."""
    steps = [h.get("created_by", "") for h in config.get("history") or [] if not h.get("empty_layer")]
    if len(steps) != len(digests):
        steps = [""] * len(digests)
    return [
        LayerRef(index=i, digest=digest, created_by=step)
        for i, (digest, step) in enumerate(zip(digests, steps, strict=True))
    ]


def diff_ids(config: dict) -> list[str]:
    return list(config.get("rootfs", {}).get("diff_ids", []))


def config_platform(config: dict) -> str:
    return "/".join(filter(None, [config.get("os"), config.get("architecture")]))


def host_platform() -> str:
    """``os/arch`` in OCI terms, e.g. ``linux/amd64``."""
    machine = os.uname().machine.lower()
    arch = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}.get(machine, machine)
    return f"linux/{arch}"


def platform_of(descriptor_platform: dict) -> str:
    parts = [descriptor_platform.get("os", ""), descriptor_platform.get("architecture", "")]
    if descriptor_platform.get("variant"):
        parts.append(descriptor_platform["variant"])
    return "/".join(parts)


def require_platform(spec: str, images: list[Image], wanted: str) -> None:
    """``--platform`` on an archive holding other platforms only is refused, not ignored:
    scanning amd64 when arm64 was asked for would vouch for an image nobody looked at."""
    present = sorted({image.platform for image in images if image.platform})
    if present and not any(found.split("/")[:2] == wanted.split("/")[:2] for found in present):
        raise InputError(f"{spec}: no {wanted} image (platforms present: {', '.join(present)})")
