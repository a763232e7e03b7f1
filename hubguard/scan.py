"""Scan images: every layer's files (with their final state), the config and the history.

Layers are scanned independently — in parallel worker processes, and cached by diff_id — and
only afterwards are states and owners decided, walking later layers' indexes in order and
reading the package databases of the whole image (hubguard/owners). When the engine
holds an image whose config and layers are all cached, nothing is exported at all.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from concurrent.futures import as_completed
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path

from hubguard.cache import Cache, default_cache_dir, hit_from_json, hit_to_json, ref_from_json, ref_to_json
from hubguard.detect.content import Limits
from hubguard.detect.engine import Detector, Hit
from hubguard.detect.rules import RuleSet, load_rules, rules_digest
from hubguard.errors import InputError, ScanIncomplete
from hubguard.model import LayerRef, Owner, ScanReport, Target
from hubguard.owners import DigestingReader, LayerRecords, Ownership, is_database
from hubguard.owners.records import DATABASE_LIMIT
from hubguard.sources import ARCHIVE_PREFIX, OCI_PREFIX, open_images
from hubguard.sources.image import Image, Layer
from hubguard.sources.layers import (
    Expected,
    LayerIndex,
    LayerMismatch,
    blob_digest,
    broken_layer,
    iter_layer_files,
)
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
    base: str | None = None  # the base image (--base): its layers are inherited
    failing_owners: tuple[str, ...] = ("own",)  # owners whose findings fail the scan / block a push
    ownership: bool = True  # off only to measure what deciding owners costs (bench)
    limits: Limits = field(default_factory=Limits)  # how far into archives


@dataclass
class LayerScan:
    """What one layer holds, independent of the layers around it (so it can be cached)."""

    index: LayerIndex
    hits: list[Hit]
    notes: list[str]
    records: LayerRecords = field(default_factory=LayerRecords)
    raw_digest: str = ""  # sha256 of the blob bytes that were read and verified

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
                if self.options.platform and not self.options.all_platforms:
                    _require_platform(spec, images, self.options.platform)
                for image in images:
                    self.scan_image(image, report)
        return report

    def scan_engine_image(self, reference: str, image_id: str) -> ScanReport:
        """Scan exactly ``image_id`` (what ``reference`` pointed at when resolved), for a push."""
        from hubguard.sources.daemon import open_daemon_image

        report = ScanReport()
        if self._scan_engine_from_cache(reference, report, image_id):
            return report
        with open_daemon_image(
            reference,
            platform=self.options.platform,
            image_id=image_id,
            all_platforms=self.options.all_platforms,
        ) as images:
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
                base_label(image.config),
            )
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
        ownership = self._ownership(image_scan, scans)
        for position, (ref, scan) in enumerate(zip(refs, scans, strict=True)):
            report.notes.extend(scan.notes)
            for hit in scan.hits:
                owner = ownership.owner(hit.path, position) if ownership else None
                if owner is not None and self._quieted(hit, owner):
                    report.owner_quieted += 1
                    continue
                state, hidden_by = _state(hit.path, ref.index, indexes, refs)
                self._add(report, hit, name, "layer", ref, state, hidden_by, owner)
        for hit, source in image_scan.config_hits:
            self._add(report, hit, name, source, None, "present", None)

    def _ownership(self, image_scan: ImageScan, scans: list[LayerScan]) -> Ownership | None:
        """Owners from every layer's records; none needed (so no rules loaded) without hits."""
        if not self.options.ownership or not any(scan.hits for scan in scans):
            return None
        digests = [ref.digest for ref in image_scan.refs]
        inherited, how = 0, ""
        if self.options.base:
            inherited = inherited_layers(digests, base_diff_ids(self.options.base))
            how = f"--base {self.options.base}"
        elif image_scan.base_label:
            named = image_scan.base_label.partition("=")[2]
            inherited = inherited_layers(digests, base_diff_ids(named, required=False))
            how = f"label {image_scan.base_label}"
        return Ownership(
            [scan.records for scan in scans],
            base_layers=inherited,
            base_how=how,
            layouts=self.rules.layouts,
        )

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
        """Cached layers from the cache; the rest in worker processes, biggest first."""
        results: list[LayerScan | None] = [None] * len(layers)
        todo = []
        for position, layer in enumerate(layers):
            results[position] = self._cached_layer(layer)
            if results[position] is None:
                todo.append(position)
        todo.sort(key=lambda position: layers[position].blob.size, reverse=True)
        jobs = min(self.options.jobs or os.cpu_count() or 1, len(todo))
        total = sum(layer.blob.size for layer in layers)
        done = total - sum(layers[p].blob.size for p in todo)  # cached layers count as read
        if jobs > 1 and sum(layers[p].blob.size for p in todo) > PARALLEL_MIN_BYTES:
            global _WORKER_SCANNER
            _WORKER_SCANNER = self  # inherited by the forked workers: rules compile once
            with forked_pool(jobs) as pool:
                futures = {pool.submit(_scan_layer_in_worker, layers[p]): p for p in todo}
                for future in as_completed(futures):
                    results[futures[future]] = future.result()
                    done += layers[futures[future]].blob.size
                    self.progress(done, total)
        else:
            for position in todo:
                read = partial(self._read_progress, done, total)
                results[position] = self.scan_layer(layers[position], read)
                done += layers[position].blob.size
                self.progress(done, total)
        # Only now, with every layer read and verified, is anything cached.
        if self.cache is not None:
            for position in todo:
                self.cache.put("layer", layers[position].ref.digest, results[position].to_json())  # type: ignore[union-attr]
        return results  # type: ignore[return-value]

    def _cached_layer(self, layer: Layer) -> LayerScan | None:
        """A cached answer, trusted only for the very bytes it was computed from: a digest check of
        the blob as it is now (a truncated or swapped member is caught here, not believed)."""
        cached = self.cache.get("layer", layer.ref.digest) if self.cache is not None else None
        if cached is None:
            return None
        scan = LayerScan.from_json(cached)
        name = _layer_name(layer)
        with broken_layer(name), layer.blob.open() as stream:
            actual, size = blob_digest(stream)
        if size != layer.blob.size:
            raise ScanIncomplete(f"{name} is truncated or corrupt ({size} of {layer.blob.size} bytes)")
        if layer.blob_digest and actual != layer.blob_digest:
            raise LayerMismatch(f"{name} does not match its digest")
        return scan if scan.raw_digest and actual == scan.raw_digest else None

    def _read_progress(self, before: int, total: int, read: int) -> None:
        self.progress(before + read, total)

    def scan_layer(self, layer: Layer, read: Callable[[int], None] | None = None) -> LayerScan:
        """Scan one layer, verifying it against its digests as it is read; ``read(bytes)`` is told
        how far into the blob the scan is, file by file."""
        from hubguard.detect.content import inspect_file
        from hubguard.detect.names import name_guard

        names = name_guard(self.rules)
        name_hits: dict[tuple[str, str], Hit] = {}
        index = LayerIndex()
        hits: list[Hit] = []
        notes: list[str] = []
        records = LayerRecords()
        collect = self.options.ownership
        name = _layer_name(layer)
        expected = Expected(name, layer.ref.digest, layer.blob_digest)
        with broken_layer(name), layer.blob.open() as stream:
            files = iter_layer_files(
                stream,
                index,
                layer.ref.digest,
                expected=expected,
                rename=lambda path: names.shown(path, name_hits),  # cached and shown redacted
            )
            for path, size, reader in files:
                if collect and is_database(path) and size <= DATABASE_LIMIT:
                    data = reader.read()
                    records.databases[path] = data.decode("utf-8", "replace")
                    reader = io.BytesIO(data)
                if self.rules.path_allowed(path):
                    continue
                digesting = DigestingReader(reader) if collect else None
                result = inspect_file(self.detector, path, size, digesting or reader, self.options.limits)
                if result.hits and digesting is not None:
                    records.digests[path] = digesting.digests()
                hits.extend(result.hits)
                notes.extend(result.notes)
                if read is not None:
                    read(stream.tell())
        hits.extend(name_hits.values())
        return LayerScan(index, hits, notes, records, expected.raw_digest)

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
        owner: Owner | None = None,
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
                # Reported, never failing: files owned by someone else unless configured to fail.
                third_party=owner is not None and owner.kind not in self.options.failing_owners,
                owner=owner,
            )
        )


_WORKER_SCANNER: Scanner | None = None


def _scan_layer_in_worker(layer: Layer) -> LayerScan:
    assert _WORKER_SCANNER is not None  # set by the parent before forking
    return _WORKER_SCANNER.scan_layer(layer)


def _layer_name(layer: Layer) -> str:
    """How errors name a layer: its position and digest."""
    return f"layer {layer.ref.index} ({layer.ref.digest})"


BASE_LABELS = ("org.opencontainers.image.base.name", "org.opencontainers.image.base.digest")


def base_label(config: dict) -> str:
    """``label=value`` naming the image's base in its OCI labels (name, else digest), or ``""``."""
    labels = (config.get("config") or {}).get("Labels") or {}
    return next((f"{key}={labels[key]}" for key in BASE_LABELS if labels.get(key)), "")


def base_diff_ids(spec: str, *, required: bool = True) -> list[str]:
    """The layer diff_ids of the base image ``spec``: an engine image (inspected, not exported),
    ``docker-archive:`` or ``oci:``. A base named only by a label may be absent: no layers."""
    if spec.startswith((ARCHIVE_PREFIX, OCI_PREFIX)):
        with open_images(spec) as images:
            return [layer.ref.digest for layer in images[0].layers] if images else []
    import docker.errors

    from hubguard.errors import InputError
    from hubguard.sources.daemon import engine_client

    try:
        attributes = engine_client().images.get(spec).attrs
    except (docker.errors.DockerException, InputError) as exc:
        if required:
            raise InputError(f"base image {spec}: {str(exc).splitlines()[0]}") from None
        return []  # a label naming an image the engine lacks (or no engine at all): no base
    return list((attributes.get("RootFS") or {}).get("Layers") or [])


def inherited_layers(digests: list[str], base: list[str]) -> int:
    """How many bottom layers the image shares with its base (a common prefix of diff_ids)."""
    count = 0
    for mine, theirs in zip(digests, base, strict=False):
        if mine != theirs:
            break
        count += 1
    return count if count == len(base) else 0


def _state(
    path: str, layer_index: int, indexes: list[LayerIndex], refs: tuple[LayerRef, ...]
) -> tuple[str, LayerRef | None]:
    """``present`` unless a later layer deletes or overwrites the file (or an archive holding it).

    A deleted file that the same layer also hardlinked elsewhere is still present when one of
    those other names survives: the bytes ship under that name.
    """
    outer = path.split("!", 1)[0]
    state, hidden_by = _hidden(outer, layer_index, indexes, refs)
    if state == "deleted":
        for alias in sorted(indexes[layer_index].hardlinks.get(outer, ())):
            if _hidden(alias, layer_index, indexes, refs)[0] is None:
                return "present", None
    return state or "present", hidden_by


def _hidden(
    path: str, layer_index: int, indexes: list[LayerIndex], refs: tuple[LayerRef, ...]
) -> tuple[str | None, LayerRef | None]:
    for later in range(layer_index + 1, len(indexes)):
        state = indexes[later].hides(path)
        if state:
            return state, refs[later]
    return None, None


def _require_platform(spec: str, images: list[Image], wanted: str) -> None:
    """``--platform`` on an archive holding other platforms only is refused, not ignored:
    scanning amd64 when arm64 was asked for would vouch for an image nobody looked at."""
    present = sorted({image.platform for image in images if image.platform})
    if present and not any(found.split("/")[:2] == wanted.split("/")[:2] for found in present):
        raise InputError(f"{spec}: no {wanted} image (platforms present: {', '.join(present)})")
