"""Scan images: every layer's files (with their final state), the config and the history.

Layers are scanned independently — in parallel worker processes, and cached by diff_id — and
only afterwards are states decided, walking later layers' indexes in order. When the engine
holds an image whose config and layers are all cached, nothing is exported at all.
"""

from __future__ import annotations

import os
import tarfile
import zlib
from collections.abc import Callable
from concurrent.futures import as_completed
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from hubguard.cache import Cache, default_cache_dir, hit_from_json, hit_to_json, ref_from_json, ref_to_json
from hubguard.detect.engine import Detector, Hit
from hubguard.detect.rules import RuleSet, load_rules, rules_digest
from hubguard.errors import ScanIncomplete
from hubguard.model import LayerRef, ScanReport, Target
from hubguard.sources import ARCHIVE_PREFIX, OCI_PREFIX, open_images
from hubguard.sources.blobs import BlobRef
from hubguard.sources.image import Image
from hubguard.sources.layers import LayerIndex, iter_layer_files
from hubguard.workers import forked_pool

PARALLEL_MIN_BYTES = 4 * 1024 * 1024  # below this, starting worker processes costs more than it saves


@dataclass
class ScanOptions:
    rules_dirs: list[Path] = field(default_factory=list)
    exhaustive: bool = False
    include_third_party: bool = False
    platform: str | None = None
    all_platforms: bool = False
    use_cache: bool = True
    cache_dir: Path | None = None
    jobs: int = 0  # worker processes; 0 = one per core


@dataclass
class LayerScan:
    """What one layer holds, independent of the layers around it (so it can be cached)."""

    index: LayerIndex
    hits: list[Hit]
    notes: list[str]
    third_party_skipped: int = 0

    def to_json(self) -> dict:
        return {
            "index": self.index.to_json(),
            "hits": [hit_to_json(hit) for hit in self.hits],
            "notes": self.notes,
            "third_party_skipped": self.third_party_skipped,
        }

    @classmethod
    def from_json(cls, data: dict) -> LayerScan:
        return cls(
            LayerIndex.from_json(data["index"]),
            [hit_from_json(hit) for hit in data["hits"]],
            list(data["notes"]),
            int(data["third_party_skipped"]),
        )


@dataclass
class ImageScan:
    """An image's own part of a report (layer refs as shown, config hits), cacheable by image ID."""

    platform: str
    refs: tuple[LayerRef, ...]
    config_hits: list[tuple[Hit, str]]

    def to_json(self) -> dict:
        return {
            "platform": self.platform,
            "refs": [ref_to_json(ref) for ref in self.refs],
            "config_hits": [[hit_to_json(hit), source] for hit, source in self.config_hits],
        }

    @classmethod
    def from_json(cls, data: dict) -> ImageScan:
        return cls(
            data["platform"],
            tuple(ref_from_json(ref) for ref in data["refs"]),
            [(hit_from_json(hit), source) for hit, source in data["config_hits"]],
        )


class Scanner:
    """Rules and detectors are built on first use: a fully cached scan needs neither."""

    def __init__(self, options: ScanOptions, progress: Callable[[int, int], None] | None = None) -> None:
        """``progress(done, total)`` is told as each layer of an image is scanned."""
        self.options = options
        self.progress = progress or (lambda done, total: None)
        salt = "|".join(
            (
                rules_digest(options.rules_dirs),
                f"exhaustive={options.exhaustive}",
                f"third_party={options.include_third_party}",
            )
        )
        self.cache = Cache(options.cache_dir or default_cache_dir(), salt) if options.use_cache else None

    @cached_property
    def rules(self) -> RuleSet:
        return load_rules(self.options.rules_dirs)

    @cached_property
    def detector(self) -> Detector:
        return Detector(self.rules, exhaustive=self.options.exhaustive)

    def scan(self, specs: list[str]) -> ScanReport:
        """Scan each ``docker-archive:``/``oci:`` spec or engine image into one report."""
        report = ScanReport()
        for spec in specs:
            if not spec.startswith((ARCHIVE_PREFIX, OCI_PREFIX)) and self._scan_engine_from_cache(
                spec, report
            ):
                continue
            with open_images(
                spec, platform=self.options.platform, all_platforms=self.options.all_platforms
            ) as images:
                for image in images:
                    self.scan_image(image, report)
        return report

    def scan_engine_image(self, reference: str, image_id: str) -> ScanReport:
        """Scan exactly ``image_id`` (what ``reference`` pointed at when resolved), for a push."""
        from hubguard.sources.daemon import open_daemon_image

        report = ScanReport()
        if self._scan_engine_from_cache(reference, report, image_id):
            return report
        with open_daemon_image(reference, platform=self.options.platform, image_id=image_id) as images:
            for image in images:
                self.scan_image(image, report)
        return report

    def _scan_engine_from_cache(self, reference: str, report: ScanReport, image_id: str = "") -> bool:
        """A warm engine scan: an inspect, no export, when the image and its layers are all cached."""
        if self.cache is None:
            return False
        from hubguard.sources.daemon import engine_client, resolve_image_id

        client = engine_client()
        image_id = image_id or resolve_image_id(client, reference)
        cached = self.cache.get("image", image_id)
        if cached is None:
            return False
        image_scan = ImageScan.from_json(cached)
        layer_scans = [self.cache.get("layer", ref.digest) for ref in image_scan.refs]
        if any(scan is None for scan in layer_scans):
            return False
        scans = [LayerScan.from_json(scan) for scan in layer_scans if scan is not None]
        self._assemble(report, reference, image_id, image_scan, scans)
        return True

    def scan_image(self, image: Image, report: ScanReport) -> None:
        cached = self.cache.get("image", image.image_id) if self.cache is not None else None
        if cached is not None:
            image_scan = ImageScan.from_json(cached)
        else:
            image_scan = ImageScan(
                image.platform,
                tuple(self._shown_ref(layer.ref) for layer in image.layers),
                self.scan_config(image.config),
            )
        scans = self._layer_scans([(layer.ref.digest, layer.blob) for layer in image.layers])
        if self.cache is not None and cached is None:
            self.cache.put("image", image.image_id, image_scan.to_json())
        self._assemble(report, image.name, image.image_id, image_scan, scans)

    def _assemble(
        self, report: ScanReport, name: str, image_id: str, image_scan: ImageScan, scans: list[LayerScan]
    ) -> None:
        refs = image_scan.refs
        report.targets.append(Target("image", name, image_id, image_scan.platform, refs))
        indexes = [scan.index for scan in scans]
        for ref, scan in zip(refs, scans, strict=True):
            report.notes.extend(scan.notes)
            report.third_party_skipped += scan.third_party_skipped
            for hit in scan.hits:
                state, hidden_by = _state(hit.path, ref.index, indexes, refs)
                self._add(report, hit, name, "layer", ref, state, hidden_by)
        for hit, source in image_scan.config_hits:
            self._add(report, hit, name, source, None, "present", None)

    def _shown_ref(self, ref: LayerRef) -> LayerRef:
        """The layer as reports show it: a build arg's secret in ``created_by`` is redacted."""
        return LayerRef(ref.index, ref.digest, self.detector.redact_text(ref.created_by, "history"))

    def _layer_scans(self, layers: list[tuple[str, BlobRef]]) -> list[LayerScan]:
        """Cached layers from the cache; the rest in worker processes, biggest first."""
        results: list[LayerScan | None] = [None] * len(layers)
        todo = []
        for position, (digest, _) in enumerate(layers):
            cached = self.cache.get("layer", digest) if self.cache is not None else None
            if cached is not None:
                results[position] = LayerScan.from_json(cached)
            else:
                todo.append(position)
        todo.sort(key=lambda position: layers[position][1].size, reverse=True)
        jobs = min(self.options.jobs or os.cpu_count() or 1, len(todo))
        if jobs > 1 and sum(layers[p][1].size for p in todo) > PARALLEL_MIN_BYTES:
            global _WORKER_SCANNER
            _WORKER_SCANNER = self  # inherited by the forked workers: rules compile once
            with forked_pool(jobs) as pool:
                futures = {pool.submit(_scan_blob_in_worker, layers[p][1], layers[p][0]): p for p in todo}
                for done, future in enumerate(as_completed(futures), start=len(layers) - len(todo) + 1):
                    results[futures[future]] = future.result()
                    self.progress(done, len(layers))
        else:
            for done, position in enumerate(todo, start=len(layers) - len(todo) + 1):
                results[position] = self.scan_blob(layers[position][1], layers[position][0])
                self.progress(done, len(layers))
        if self.cache is not None:
            for position in todo:
                self.cache.put("layer", layers[position][0], results[position].to_json())  # type: ignore[union-attr]
        return results  # type: ignore[return-value]

    def scan_blob(self, blob: BlobRef, label: str) -> LayerScan:
        from hubguard.detect.content import inspect_file

        index = LayerIndex()
        hits: list[Hit] = []
        notes: list[str] = []
        skipped = 0
        with blob.open() as stream:
            for path, size, reader in iter_layer_files(stream, index, label):
                if not self.options.include_third_party and self.rules.is_third_party(path):
                    skipped += 1
                    continue
                if self.rules.path_allowed(path):
                    continue
                try:
                    result = inspect_file(self.detector, path, size, reader)
                except (tarfile.TarError, EOFError, zlib.error) as exc:  # the layer ends inside this file
                    raise ScanIncomplete(f"layer {label} is corrupt or truncated: {exc}") from None
                hits.extend(result.hits)
                notes.extend(result.notes)
        return LayerScan(index, hits, notes, skipped)

    def scan_config(self, config: dict) -> list[tuple[Hit, str]]:
        """Env values, labels and every history step (build args show up there)."""
        container = config.get("config") or {}
        found = []
        for number, entry in enumerate(container.get("Env") or [], start=1):
            found += [(hit, "config") for hit in self.detector.scan_value(entry, "Config.Env", number)]
        labels = container.get("Labels") or {}
        for number, (key, value) in enumerate(sorted(labels.items()), start=1):
            text = f"{key}={value}"
            found += [(hit, "config") for hit in self.detector.scan_value(text, "Config.Labels", number)]
        for number, step in enumerate(config.get("history") or []):
            created_by = step.get("created_by") or ""
            path = f"history[{number}]"
            found += [(hit, "history") for hit in self.detector.scan_value(created_by, path, None)]
        return found

    def _add(
        self,
        report: ScanReport,
        hit: Hit,
        target: str,
        source: str,
        layer: LayerRef | None,
        state: str,
        hidden_by: LayerRef | None,
    ) -> None:
        if hit.pragma:
            report.suppressed += 1
            return
        report.findings.append(
            hit.finding(
                source,
                target,
                layer=layer,
                state=state,
                hidden_by=hidden_by,
                # Third-party files are only scanned (so only found) with --include-third-party.
                third_party=self.options.include_third_party and self.rules.is_third_party(hit.path),
            )
        )


_WORKER_SCANNER: Scanner | None = None


def _scan_blob_in_worker(blob: BlobRef, label: str) -> LayerScan:
    assert _WORKER_SCANNER is not None  # set by the parent before forking
    return _WORKER_SCANNER.scan_blob(blob, label)


def _state(
    path: str, layer_index: int, indexes: list[LayerIndex], refs: tuple[LayerRef, ...]
) -> tuple[str, LayerRef | None]:
    """``present`` unless a later layer deletes or overwrites the file (or an archive holding it)."""
    outer = path.split("!", 1)[0]
    for later in range(layer_index + 1, len(indexes)):
        state = indexes[later].hides(outer)
        if state:
            return state, refs[later]
    return "present", None
