"""What an image scan keeps, in the shape the cache stores: one record per layer (independent
of the layers around it, so it is keyed by diff_id alone) and one per image (keyed by its ID)."""

from __future__ import annotations

from dataclasses import dataclass, field

from hubguard.cache import Cache, hit_from_json, hit_to_json, ref_from_json, ref_to_json
from hubguard.detect.engine import Hit
from hubguard.errors import ScanIncomplete
from hubguard.model import LayerRef
from hubguard.owners import LayerRecords
from hubguard.sources.blobs import BlobRef
from hubguard.sources.image import Layer
from hubguard.sources.layers import LayerIndex, LayerMismatch, blob_digest, broken_layer


@dataclass
class LayerScan:
    """What one layer holds, independent of the layers around it (so it can be cached)."""

    index: LayerIndex
    hits: list[Hit]
    notes: list[str]
    records: LayerRecords = field(default_factory=LayerRecords)
    raw_digest: str = ""  # sha256 of the blob bytes that were read and verified
    # Large files read in place, digested once the layer is scanned if they hold a hit; not cached.
    in_place: dict[str, BlobRef] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "index": self.index.to_json(),
            "hits": [hit_to_json(hit) for hit in self.hits],
            "notes": self.notes,
            "records": self.records.to_json(),
            "raw_digest": self.raw_digest,
        }

    @classmethod
    def from_json(cls, data: dict) -> LayerScan:
        return cls(
            LayerIndex.from_json(data["index"]),
            [hit_from_json(hit) for hit in data["hits"]],
            list(data["notes"]),
            LayerRecords.from_json(data["records"]),
            str(data.get("raw_digest", "")),
        )


@dataclass
class ImageScan:
    """An image's own part of a report (layer refs as shown, config hits), cacheable by image ID."""

    platform: str
    refs: tuple[LayerRef, ...]
    config_hits: list[tuple[Hit, str]]
    base_label: str = ""  # the OCI base.name (or base.digest) label naming the base image

    def to_json(self) -> dict:
        return {
            "platform": self.platform,
            "refs": [ref_to_json(ref) for ref in self.refs],
            "config_hits": [[hit_to_json(hit), source] for hit, source in self.config_hits],
            "base_label": self.base_label,
        }

    @classmethod
    def from_json(cls, data: dict) -> ImageScan:
        return cls(
            data["platform"],
            tuple(ref_from_json(ref) for ref in data["refs"]),
            [(hit_from_json(hit), source) for hit, source in data["config_hits"]],
            data["base_label"],
        )


def cached_layer_scan(cache: Cache | None, layer: Layer) -> LayerScan | None:
    """A cached answer, trusted only for the very bytes it was computed from: a digest check of
    the blob as it is now (a truncated or swapped member is caught here, not believed)."""
    cached = cache.get("layer", layer.ref.digest) if cache is not None else None
    if cached is None:
        return None
    scan = LayerScan.from_json(cached)
    name = layer_name(layer)
    with broken_layer(name), layer.blob.open() as stream:
        actual, size = blob_digest(stream)
    if size != layer.blob.size:
        raise ScanIncomplete(f"{name} is truncated or corrupt ({size} of {layer.blob.size} bytes)")
    if layer.blob_digest and actual != layer.blob_digest:
        raise LayerMismatch(f"{name} does not match its digest")
    return scan if scan.raw_digest and actual == scan.raw_digest else None


def layer_name(layer: Layer) -> str:
    """How errors name a layer: its position and digest."""
    return f"layer {layer.ref.index} ({layer.ref.digest})"
