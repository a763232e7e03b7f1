"""Scan images: every layer's files (with their final state), the config and the history.

Layers are scanned independently — in parallel worker processes, and cached by diff_id — and
only afterwards are states and owners decided, walking later layers' indexes in order and
reading the package databases of the whole image (hubguard/owners). When the engine
holds an image whose config and layers are all cached, nothing is exported at all.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import BinaryIO

from hubguard.cache import Cache, default_cache_dir, hit_from_json, hit_to_json, ref_from_json, ref_to_json
from hubguard.detect.content import Limits
from hubguard.detect.engine import Detector, Hit, cap_per_file
from hubguard.detect.rules import RuleSet, load_rules, rules_digest
from hubguard.errors import InputError, ScanIncomplete
from hubguard.model import LayerRef, Owner, ScanReport, Target
from hubguard.owners import DigestingReader, LayerRecords, Ownership, is_database
from hubguard.owners.records import DATABASE_LIMIT, file_digests
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
from hubguard.workers import Fanout, inherited, job_count, run_forked

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
    max_per_file: int = 20  # findings per rule per file before one summary finding; 0 = no cap


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
            if not spec.startswith((ARCHIVE_PREFIX, OCI_PREFIX)):
                if not self._scan_engine_from_cache(spec, report):
                    self._scan_engine_streamed(spec, report)
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
                client,
                reference,
                image_id,
                scan_layer,
                platform=self.options.platform,
                all_platforms=self.options.all_platforms,
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
        ownership = self._ownership(image_scan, scans)
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
        """Cached layers from the cache; the rest read here, one after another, in a single
        sequential pass each (verified against their digests as they are read), with detection
        fanned out to the workers in batches of files (so one big layer keeps every core busy)."""
        results: list[LayerScan | None] = [None] * len(layers)
        todo = []
        for position, layer in enumerate(layers):
            results[position] = self._cached_layer(layer)
            if results[position] is None:
                todo.append(position)
        total = sum(layer.blob.size for layer in layers)
        done = total - sum(layers[p].blob.size for p in todo)  # cached layers count as read
        with self.fanout(total - done) as fanout:
            for position in todo:
                layer = layers[position]
                name = _layer_name(layer)
                expected = Expected(name, layer.ref.digest, layer.blob_digest)
                read = partial(self._read_progress, done, total)
                with broken_layer(name), layer.blob.open() as stream:
                    results[position] = self.read_layer(stream, layer.ref.digest, fanout, expected, read)
                done += layer.blob.size
                self.progress(done, total)
            fanout.finish()
        # Only now, with every layer read and verified, is anything cached.
        for position in todo:
            scan = results[position]
            assert scan is not None
            scan.hits = _unique(self.detector, scan.hits)
            if self.cache is not None:
                self.cache.put("layer", layers[position].ref.digest, scan.to_json())
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

    @contextlib.contextmanager
    def fanout(self, total_bytes: int) -> Iterator[Fanout]:
        """Worker processes when there is enough to scan to repay starting them, else inline."""
        jobs = job_count(self.options.jobs) if total_bytes > PARALLEL_MIN_BYTES else 1
        self.detector  # noqa: B018 - compiled before the fork, not once per worker
        with run_forked(self, jobs) as pool:  # the workers inherit this scanner: rules compile once
            yield Fanout(_detect_batch, _collect, pool, jobs)

    def read_layer(
        self,
        stream: BinaryIO,
        label: str,
        fanout: Fanout,
        expected: Expected | None = None,
        read: Callable[[int], None] | None = None,
    ) -> LayerScan:
        """Read one layer tar (verified against ``expected`` as it is read) and hand its files to
        ``fanout``; hits arrive in the LayerScan as the batches finish (complete after
        ``fanout.finish()``). Package databases and the digests of large files are kept for the
        owner model; ``read(bytes)`` is told how far into the blob the read is, file by file."""
        from hubguard.detect.content import CHUNK, inspect_file, oversize_notes, reads_whole, stream_chunks
        from hubguard.detect.names import name_guard

        names = name_guard(self.rules)
        name_hits: dict[tuple[str, str], Hit] = {}
        scan = LayerScan(LayerIndex(), [], [])
        collect = self.options.ownership
        files = iter_layer_files(
            stream,
            scan.index,
            label,
            expected=expected,
            rename=lambda path: names.shown(path, name_hits),  # cached and shown redacted
        )
        for path, size, reader in files:
            if collect and is_database(path) and size <= DATABASE_LIMIT:
                data = reader.read()
                scan.records.databases[path] = data.decode("utf-8", "replace")
                reader = io.BytesIO(data)
            if self.rules.path_allowed(path):
                continue
            if size <= CHUNK or reads_whole(path, size, self.options.limits):
                fanout.submit(scan, ("file", path, reader.read(), 0, False), size)
            else:
                digesting = DigestingReader(reader) if collect else None
                if self.detector.rules.file_rules_named(path):  # a big credential file: streamed here
                    result = inspect_file(self.detector, path, size, digesting or reader, self.options.limits)
                    scan.hits.extend(result.hits)
                    scan.notes.extend(result.notes)
                else:
                    scan.notes.extend(oversize_notes(path, size, self.options.limits))
                    for body, line_no, binary in stream_chunks(digesting or reader):
                        kind = "chunk" if line_no else "file"  # line 0: it all fit in one chunk after all
                        fanout.submit(scan, (kind, path, body, line_no, binary), len(body))
                if digesting is not None:
                    scan.records.digests[path] = digesting.digests()
            if read is not None and stream.seekable():
                read(stream.tell())
        scan.hits.extend(name_hits.values())
        scan.raw_digest = expected.raw_digest if expected is not None else ""
        return scan

    def detect(self, job: tuple[str, str, bytes, int, bool]) -> tuple[list[Hit], list[str], dict[str, str]]:
        """One job from ``read_layer``: a whole file, or one chunk of a large one. A whole file
        with hits also gets its digests, for the owner model's package records."""
        from hubguard.detect.content import inspect_file

        kind, path, data, line_no, binary = job
        if kind == "file":
            result = inspect_file(self.detector, path, len(data), io.BytesIO(data), self.options.limits)
            digests = file_digests(data) if result.hits and self.options.ownership else {}
            return result.hits, result.notes, digests
        if binary:
            return self.detector.scan_binary(data, path), [], {}
        return self.detector.scan_text(data, path, line_no), [], {}

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


def _detect_batch(jobs: list) -> list[tuple[list[Hit], list[str], dict[str, str]]]:
    scanner: Scanner = inherited()
    return [scanner.detect(job) for job in jobs]


def _collect(scan: object, result: tuple[list[Hit], list[str], dict[str, str]]) -> None:
    assert isinstance(scan, LayerScan)
    hits, notes, digests = result
    scan.hits.extend(hits)
    scan.notes.extend(notes)
    if digests and hits:
        scan.records.digests[hits[0].path.split("!", 1)[0]] = digests


def _unique(detector: Detector, hits: list[Hit]) -> list[Hit]:
    """One hit per identity per file: a large file's chunks overlap, so a hit can come twice."""
    seen: dict[tuple[str, str, str], Hit] = {}
    for hit in hits:
        seen.setdefault((hit.path, *detector.identity(hit)), hit)
    return list(seen.values())


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
