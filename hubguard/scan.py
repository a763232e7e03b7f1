"""Scan images: every layer's files (with their final state), the config and the history.

Layers are scanned independently — in parallel worker processes, and cached by diff_id — and
only afterwards are states decided, walking later layers' indexes in order. When the engine
holds an image whose config and layers are all cached, nothing is exported at all.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import BinaryIO

from hubguard.cache import Cache, default_cache_dir, hit_from_json, hit_to_json, ref_from_json, ref_to_json
from hubguard.detect.engine import Detector, Hit, cap_per_file
from hubguard.detect.rules import RuleSet, load_rules, rules_digest
from hubguard.model import LayerRef, ScanReport, Target
from hubguard.sources import ARCHIVE_PREFIX, OCI_PREFIX, open_images
from hubguard.sources.blobs import BlobRef
from hubguard.sources.image import Image
from hubguard.sources.layers import LayerIndex, iter_layer_files
from hubguard.workers import Fanout, forked_pool

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
    max_per_file: int = 20  # findings per rule per file before one summary finding; 0 = no cap


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
            if not spec.startswith((ARCHIVE_PREFIX, OCI_PREFIX)):
                if not self._scan_engine_from_cache(spec, report):
                    self._scan_engine_streamed(spec, report)
                continue
            with open_images(
                spec, platform=self.options.platform, all_platforms=self.options.all_platforms
            ) as images:
                for image in images:
                    self.scan_image(image, report)
        return report

    def scan_engine_image(self, reference: str, image_id: str) -> ScanReport:
        """Scan exactly ``image_id`` (what ``reference`` pointed at when resolved), for a push."""
        report = ScanReport()
        if not self._scan_engine_from_cache(reference, report, image_id):
            self._scan_engine_streamed(reference, report, image_id)
        return report

    def _scan_engine_streamed(self, reference: str, report: ScanReport, image_id: str = "") -> None:
        """Scan while the engine exports: one pass over the ``docker save`` stream, no
        temporary file; each layer is read (and hashed) as it passes, detection fans out."""
        from hubguard.sources.daemon import engine_client, resolve_image_id, stream_daemon_image

        client = engine_client()
        image_id = image_id or resolve_image_id(client, reference)
        inspect = client.api.inspect_image(image_id)
        total = len((inspect.get("RootFS") or {}).get("Layers") or []) or 1
        scans: dict[str, LayerScan] = {}

        def scan_layer(member: str, reader: BinaryIO) -> None:
            scans[member] = self.read_layer(reader, member, fanout)
            self.progress(min(len(scans), total), total)

        with self.fanout(int(inspect.get("Size") or 0)) as fanout:
            images = stream_daemon_image(
                client, reference, image_id, scan_layer, platform=self.options.platform
            )
            fanout.finish()
        for scan in scans.values():
            scan.hits = _unique(self.detector, scan.hits)
        for image in images:
            layer_scans = [
                scans.get(layer.blob.path) or LayerScan(LayerIndex(), [], []) for layer in image.layers
            ]
            if self.cache is not None:
                for layer, scan in zip(image.layers, layer_scans, strict=True):
                    self.cache.put("layer", layer.ref.digest, scan.to_json())
            self.scan_image(image, report, layer_scans)

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

    def scan_image(self, image: Image, report: ScanReport, scans: list[LayerScan] | None = None) -> None:
        """One image into ``report``; its layers' ``scans`` when already made (a streamed export)."""
        cached = self.cache.get("image", image.image_id) if self.cache is not None else None
        if cached is not None:
            image_scan = ImageScan.from_json(cached)
        else:
            image_scan = ImageScan(
                image.platform,
                tuple(self._shown_ref(layer.ref) for layer in image.layers),
                self.scan_config(image.config),
            )
        if scans is None:
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
            for hit in cap_per_file(scan.hits, self.options.max_per_file):
                state, hidden_by = _state(hit.path, ref.index, indexes, refs)
                self._add(report, hit, name, "layer", ref, state, hidden_by)
        for hit, source in image_scan.config_hits:
            self._add(report, hit, name, source, None, "present", None)

    def _shown_ref(self, ref: LayerRef) -> LayerRef:
        """The layer as reports show it: a build arg's secret in ``created_by`` is redacted."""
        return LayerRef(ref.index, ref.digest, self.detector.redact_text(ref.created_by, "history"))

    def _layer_scans(self, layers: list[tuple[str, BlobRef]]) -> list[LayerScan]:
        """Cached layers from the cache; the rest read here, one after another, in a single
        sequential pass each, with detection fanned out to the workers in batches of files (so
        one big layer keeps every core busy)."""
        results: list[LayerScan | None] = [None] * len(layers)
        todo = []
        for position, (digest, _) in enumerate(layers):
            cached = self.cache.get("layer", digest) if self.cache is not None else None
            if cached is not None:
                results[position] = LayerScan.from_json(cached)
            else:
                todo.append(position)
        with self.fanout(sum(layers[p][1].size for p in todo)) as fanout:
            for done, position in enumerate(todo, start=len(layers) - len(todo) + 1):
                blob = layers[position][1]
                with blob.open() as stream:
                    results[position] = self.read_layer(stream, layers[position][0], fanout)
                self.progress(done, len(layers))
            fanout.finish()
        for position in todo:
            scan = results[position]
            assert scan is not None
            scan.hits = _unique(self.detector, scan.hits)
            if self.cache is not None:
                self.cache.put("layer", layers[position][0], scan.to_json())
        return results  # type: ignore[return-value]

    @contextlib.contextmanager
    def fanout(self, total_bytes: int) -> Iterator[Fanout]:
        """Worker processes when there is enough to scan to repay starting them, else inline."""
        global _WORKER_SCANNER
        _WORKER_SCANNER = self  # inherited by the forked workers: rules compile once, here
        jobs = self.options.jobs or os.cpu_count() or 1
        self.detector  # noqa: B018 - compiled before the fork, not once per worker
        if jobs > 1 and total_bytes > PARALLEL_MIN_BYTES:
            with forked_pool(jobs) as pool:
                yield Fanout(_detect_batch, _collect, pool, jobs)
        else:
            yield Fanout(_detect_batch, _collect, None, 1)

    def read_layer(self, stream: BinaryIO, label: str, fanout: Fanout) -> LayerScan:
        """Read one layer tar and hand its files to ``fanout``; hits arrive in the LayerScan as
        the batches finish (complete after ``fanout.finish()``)."""
        from hubguard.detect.content import CHUNK, oversize_notes, reads_whole, stream_chunks

        scan = LayerScan(LayerIndex(), [], [])
        for path, size, reader in iter_layer_files(stream, scan.index, label):
            if not self.options.include_third_party and self.rules.is_third_party(path):
                scan.third_party_skipped += 1
                continue
            if self.rules.path_allowed(path):
                continue
            if size <= CHUNK or reads_whole(self.detector, path, size):
                fanout.submit(scan, ("file", path, reader.read(), 0, False), size)
                continue
            scan.notes.extend(oversize_notes(path, size))
            for body, line_no, binary in stream_chunks(reader):
                kind = "chunk" if line_no else "file"  # line 0: it all fit in one chunk after all
                fanout.submit(scan, (kind, path, body, line_no, binary), len(body))
        return scan

    def detect(self, job: tuple[str, str, bytes, int, bool]) -> tuple[list[Hit], list[str]]:
        """One job from ``read_layer``: a whole file, or one chunk of a large one."""
        from hubguard.detect.content import inspect_file

        kind, path, data, line_no, binary = job
        if kind == "file":
            result = inspect_file(self.detector, path, len(data), io.BytesIO(data))
            return result.hits, result.notes
        if binary:
            return self.detector.scan_binary(data, path), []
        return self.detector.scan_text(data, path, line_no), []

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


def _detect_batch(jobs: list) -> list[tuple[list[Hit], list[str]]]:
    assert _WORKER_SCANNER is not None  # set by the parent before forking
    return [_WORKER_SCANNER.detect(job) for job in jobs]


def _collect(scan: object, result: tuple[list[Hit], list[str]]) -> None:
    assert isinstance(scan, LayerScan)
    scan.hits.extend(result[0])
    scan.notes.extend(result[1])


def _unique(detector: Detector, hits: list[Hit]) -> list[Hit]:
    """One hit per identity per file: a large file's chunks overlap, so a hit can come twice."""
    seen: dict[tuple[str, str, str], Hit] = {}
    for hit in hits:
        seen.setdefault((hit.path, *detector.identity(hit)), hit)
    return list(seen.values())


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
