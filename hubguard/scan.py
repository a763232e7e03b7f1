"""Scan images: every layer's files (with their final state), the config and the history.

Layers are scanned independently — in parallel worker processes, and cached by diff_id — and
only afterwards are states and owners decided, walking later layers' indexes in order and
reading the package databases of the whole image (hubguard/owners). When the engine
holds an image whose config and layers are all cached, nothing is exported at all.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import BinaryIO

from hubguard.cache import PACKS_STORE, PREFILTER_STORE, Cache, default_cache_dir
from hubguard.detect.config import scan_config
from hubguard.detect.content import Limits
from hubguard.detect.engine import Detector, Hit, cap_per_file
from hubguard.detect.rules import RuleSet, load_rules, rules_digest
from hubguard.layer_reader import Job, LayerReader, Result, collect, digest_hit_files
from hubguard.model import LayerRef, Owner, ScanReport, Target
from hubguard.owners.base import base_label, image_ownership
from hubguard.scan_records import ImageScan, LayerScan, cached_layer_scan, layer_name
from hubguard.sources import ImageStream, Source, engine_source, source_for
from hubguard.sources.image import Image, Layer
from hubguard.sources.layers import Expected, LayerIndex, broken_layer
from hubguard.sources.state import file_state
from hubguard.workers import Fanout, inherited, job_count, run_forked

# Below this, forking the workers costs more CPU than the wall time they save (a 6 MB layer:
# 0.29 CPU s inline, 0.34 with two workers, the same wall time).
PARALLEL_MIN_BYTES = 8 * 1024 * 1024


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
    base: str | None = None  # the base image (--base): its layers are inherited
    failing_owners: tuple[str, ...] = ("own",)  # owners whose findings fail the scan / block a push
    ownership: bool = True  # off only to measure what deciding owners costs (bench)
    limits: Limits = field(default_factory=Limits)  # how far into archives
    max_per_file: int = 20  # findings per rule per file before one summary finding; 0 = no cap


class Scanner:
    """Rules and detectors are built on first use: a fully cached scan needs neither."""

    def __init__(self, options: ScanOptions, progress: Callable[[int, int], None] | None = None) -> None:
        """``progress(done_bytes, total_bytes)`` is told as an image's layers are read (layer
        blob bytes; within a layer scanned in this process, as its stream advances)."""
        self.options = options
        self.progress = progress or (lambda done, total: None)
        salt = "|".join(
            (
                rules_digest(options.rules_dirs),
                f"exhaustive={options.exhaustive}",
                f"third_party={options.include_third_party}",
                f"owners={options.ownership}",  # layer entries carry package databases and hit digests
                options.limits.salt(),
            )
        )
        self.cache = Cache(options.cache_dir or default_cache_dir(), salt) if options.use_cache else None

    @cached_property
    def rules(self) -> RuleSet:
        store = self.cache.root / PACKS_STORE if self.cache is not None else None
        return load_rules(self.options.rules_dirs, store)

    @cached_property
    def detector(self) -> Detector:
        store = self.cache.root / PREFILTER_STORE if self.cache is not None else None
        return Detector(self.rules, exhaustive=self.options.exhaustive, store=store)

    @cached_property
    def layer_reader(self) -> LayerReader:
        return LayerReader(
            self.rules, self.detector, ownership=self.options.ownership, limits=self.options.limits
        )

    def scan(self, specs: list[str]) -> ScanReport:
        """Scan each ``docker-archive:``/``oci:`` spec or engine image into one report."""
        report = ScanReport()
        for spec in specs:
            self._scan_source(source_for(spec), spec, report)
        return report

    def scan_engine_image(self, reference: str, image_id: str) -> ScanReport:
        """Scan exactly ``image_id`` (what ``reference`` pointed at when resolved), for a push."""
        report = ScanReport()
        self._scan_source(engine_source(), reference, report, image_id)
        return report

    def _scan_source(self, source: Source, spec: str, report: ScanReport, identity: str = "") -> None:
        """From the cache when the source can name the image cheaply and all of it is cached;
        else streamed when the source is read front to back; else opened and read in place."""
        options = self.options
        if self.cache is not None:
            identity = identity or source.identity(spec)
            if identity and self._scan_from_cache(spec, identity, report):
                return
        stream = source.stream(spec, identity, platform=options.platform, all_platforms=options.all_platforms)
        if stream is not None:
            self._scan_streamed(stream, report)
            return
        with source.open(spec, platform=options.platform, all_platforms=options.all_platforms) as images:
            for image in images:
                self.scan_image(image, report)

    def _scan_streamed(self, stream: ImageStream, report: ScanReport) -> None:
        """Scan while the engine exports: one pass over the ``docker save`` stream, no
        temporary file; each layer is read (and hashed) as it passes, detection fans out."""
        total = stream.size or 1  # bytes of layer content, as the source counts them
        scans: dict[str, LayerScan] = {}
        done = [0]  # bytes of the export read so far (tar headers too, so capped at total)

        def scan_layer(member: str, reader: BinaryIO) -> None:
            before = done[0]

            def read(count: int) -> None:
                done[0] = before + count
                self.progress(min(done[0], total), total)

            scans[member] = self.layer_reader.read(reader, member, fanout, read=read)

        with self.fanout(stream.size) as fanout:
            images = stream.read(scan_layer)
            fanout.finish()
        self.progress(total, total)
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

    def _scan_from_cache(self, name: str, image_id: str, report: ScanReport) -> bool:
        """A warm scan: nothing read when the image and its layers are all cached."""
        assert self.cache is not None
        cached = self.cache.get("image", image_id)
        if cached is None:
            return False
        image_scan = ImageScan.from_json(cached)
        layer_scans = [self.cache.get("layer", ref.digest) for ref in image_scan.refs]
        if any(scan is None for scan in layer_scans):
            return False
        scans = [LayerScan.from_json(scan) for scan in layer_scans if scan is not None]
        self._assemble(report, name, image_id, image_scan, scans)
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
                scan_config(self.detector, image.config),
                base_label(image.config),
            )
        if scans is None:
            scans = self._layer_scans(image.layers)
        if self.cache is not None and cached is None:
            self.cache.put("image", image.image_id, image_scan.to_json())
        self._assemble(report, image.name, image.image_id, image_scan, scans)

    def _assemble(
        self, report: ScanReport, name: str, image_id: str, image_scan: ImageScan, scans: list[LayerScan]
    ) -> None:
        refs = image_scan.refs
        report.targets.append(Target("image", name, image_id, image_scan.platform, refs))
        indexes = [scan.index for scan in scans]
        ownership = None  # none needed (so no rules loaded) without hits
        if self.options.ownership and any(scan.hits for scan in scans):
            records = [scan.records for scan in scans]
            digests = [ref.digest for ref in refs]
            ownership = image_ownership(
                records, digests, self.options.base, image_scan.base_label, self.rules.layouts
            )
        for position, (ref, scan) in enumerate(zip(refs, scans, strict=True)):
            report.notes.extend(scan.notes)
            owners = {hit.path: ownership.owner(hit.path, position) for hit in scan.hits} if ownership else {}
            shown = []
            for hit in scan.hits:
                owner = owners.get(hit.path)
                if owner is not None and self._quieted(hit, owner):
                    report.owner_quieted += 1
                else:
                    shown.append(hit)
            for hit in cap_per_file(shown, self.options.max_per_file):
                owner = owners.get(hit.path)
                state, hidden_by = file_state(hit.path, ref.index, indexes, refs)
                self._add(report, hit, name, "layer", ref, state, hidden_by, owner)
        for hit, source in image_scan.config_hits:
            self._add(report, hit, name, source, None, "present", None)

    def _quieted(self, hit: Hit, owner: Owner) -> bool:
        """Distro and package files keep only anchored token rules (``--include-third-party``: all)."""
        if owner.kind not in ("distro", "package") or self.options.include_third_party:
            return False
        return hit.rule_id not in self._anchored

    @cached_property
    def _anchored(self) -> frozenset[str]:
        return frozenset(rule.id for rule in self.rules.token_rules if rule.anchored)

    def _shown_ref(self, ref: LayerRef) -> LayerRef:
        """The layer as reports show it: a build arg's secret in ``created_by`` is redacted."""
        return LayerRef(ref.index, ref.digest, self.detector.redact_text(ref.created_by, "history"))

    def _layer_scans(self, layers: list[Layer]) -> list[LayerScan]:
        """Cached layers from the cache; the rest read here, one after another, in a single
        sequential pass each (verified against their digests as they are read), with detection
        fanned out to the workers in batches of files (so one big layer keeps every core busy)."""
        results: list[LayerScan | None] = [None] * len(layers)
        todo = []
        for position, layer in enumerate(layers):
            results[position] = cached_layer_scan(self.cache, layer)
            if results[position] is None:
                todo.append(position)
        total = sum(layer.blob.size for layer in layers)
        done = total - sum(layers[p].blob.size for p in todo)  # cached layers count as read
        with self.fanout(total - done) as fanout:
            for position in todo:
                layer = layers[position]
                name = layer_name(layer)
                expected = Expected(name, layer.ref.digest, layer.blob_digest)
                read = partial(self._read_progress, done, total)
                with broken_layer(name), layer.blob.open() as stream:
                    results[position] = self.layer_reader.read(
                        stream, layer.ref.digest, fanout, expected, read, layer.blob
                    )
                done += layer.blob.size
                self.progress(done, total)
            fanout.finish()
        # Only now, with every layer read and verified, is anything cached.
        for position in todo:
            scan = results[position]
            assert scan is not None
            scan.hits = _unique(self.detector, scan.hits)
            with broken_layer(layer_name(layers[position])):
                digest_hit_files(scan)
            if self.cache is not None:
                self.cache.put("layer", layers[position].ref.digest, scan.to_json())
        return results  # type: ignore[return-value]

    def _read_progress(self, before: int, total: int, read: int) -> None:
        self.progress(before + read, total)

    @contextlib.contextmanager
    def fanout(self, total_bytes: int) -> Iterator[Fanout]:
        """Worker processes when there is enough to scan to repay starting them, else inline."""
        jobs = job_count(self.options.jobs) if total_bytes > PARALLEL_MIN_BYTES else 1
        if total_bytes:  # (a fully cached image builds no detector: its pass takes half a second)
            self.layer_reader  # noqa: B018 - compiled before the fork, not once per worker
        with run_forked(self, jobs) as pool:  # the workers inherit this scanner: rules compile once
            yield Fanout(_detect_batch, collect, pool, jobs)

    def _add(
        self,
        report: ScanReport,
        hit: Hit,
        target: str,
        source: str,
        layer: LayerRef | None,
        state: str,
        hidden_by: LayerRef | None,
        owner: Owner | None = None,
    ) -> None:
        report.add_hit(
            hit,
            source,
            target,
            layer=layer,
            state=state,
            hidden_by=hidden_by,
            # Reported, never failing: files owned by someone else unless configured to fail.
            third_party=owner is not None and owner.kind not in self.options.failing_owners,
            owner=owner,
        )


def _detect_batch(jobs: list[Job]) -> list[Result]:
    scanner: Scanner = inherited()
    return [scanner.layer_reader.detect(job) for job in jobs]


def _unique(detector: Detector, hits: list[Hit]) -> list[Hit]:
    """One hit per identity per file: a large file's chunks overlap, so a hit can come twice."""
    seen: dict[tuple[str, str, str], Hit] = {}
    for hit in hits:
        seen.setdefault((hit.path, *detector.identity(hit)), hit)
    return list(seen.values())
