"""Scan images: every layer's files (with their final state), the config and the history.

Layers are scanned independently (so they can run in parallel and be cached by digest);
only afterwards are states decided, walking later layers' indexes in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hubguard.detect.content import inspect_file
from hubguard.detect.engine import Detector, Hit
from hubguard.detect.rules import RuleSet, load_rules
from hubguard.model import Finding, LayerRef, ScanReport, Target
from hubguard.sources import open_images
from hubguard.sources.daemon import open_daemon_image
from hubguard.sources.image import Image, Layer
from hubguard.sources.layers import LayerIndex, iter_layer_files


@dataclass
class ScanOptions:
    rules_dirs: list[Path] = field(default_factory=list)
    exhaustive: bool = False
    include_third_party: bool = False
    platform: str | None = None
    all_platforms: bool = False


@dataclass
class LayerScan:
    """What one layer holds, independent of the layers around it (so it can be cached)."""

    index: LayerIndex
    hits: list[Hit]
    notes: list[str]
    third_party_skipped: int = 0


class Scanner:
    def __init__(self, options: ScanOptions, rules: RuleSet | None = None) -> None:
        self.options = options
        self.rules = rules or load_rules(options.rules_dirs)
        self.detector = Detector(self.rules, exhaustive=options.exhaustive)

    def scan(self, specs: list[str]) -> ScanReport:
        """Scan each ``docker-archive:``/``oci:`` spec or engine image into one report."""
        report = ScanReport()
        for spec in specs:
            with open_images(
                spec, platform=self.options.platform, all_platforms=self.options.all_platforms
            ) as images:
                for image in images:
                    self.scan_image(image, report)
        return report

    def scan_engine_image(self, reference: str, image_id: str) -> ScanReport:
        """Scan exactly ``image_id`` (what ``reference`` pointed at when resolved), for a push."""
        report = ScanReport()
        with open_daemon_image(reference, platform=self.options.platform, image_id=image_id) as images:
            for image in images:
                self.scan_image(image, report)
        return report

    def scan_image(self, image: Image, report: ScanReport) -> None:
        refs = tuple(self._shown_ref(layer.ref) for layer in image.layers)
        report.targets.append(Target("image", image.name, image.image_id, image.platform, refs))
        scans = [self.scan_layer(layer) for layer in image.layers]
        indexes = [scan.index for scan in scans]
        skipped = 0
        for ref, scan in zip(refs, scans, strict=True):
            report.notes.extend(scan.notes)
            skipped += scan.third_party_skipped
            for hit in scan.hits:
                state, hidden_by = _state(hit.path, ref.index, indexes, refs)
                _add(report, hit, image.name, "layer", ref, state, hidden_by, self.rules)
        report.third_party_skipped += skipped
        for hit, source in self.scan_config(image.config):
            _add(report, hit, image.name, source, None, "present", None, self.rules)

    def _shown_ref(self, ref: LayerRef) -> LayerRef:
        """The layer as reports show it: a build arg's secret in ``created_by`` is redacted."""
        return LayerRef(ref.index, ref.digest, self.detector.redact_text(ref.created_by, "history"))

    def scan_layer(self, layer: Layer) -> LayerScan:
        index = LayerIndex()
        hits: list[Hit] = []
        notes: list[str] = []
        skipped = 0
        with layer.blob.open() as stream:
            for path, size, reader in iter_layer_files(stream, index, layer.ref.digest):
                if not self.options.include_third_party and self.rules.is_third_party(path):
                    skipped += 1
                    continue
                if self.rules.path_allowed(path):
                    continue
                result = inspect_file(self.detector, path, size, reader)
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


def _add(
    report: ScanReport,
    hit: Hit,
    target: str,
    source: str,
    layer: LayerRef | None,
    state: str,
    hidden_by: LayerRef | None,
    rules: RuleSet,
) -> None:
    if hit.pragma:
        report.suppressed += 1
        return
    report.findings.append(
        Finding(
            rule_id=hit.rule_id,
            title=hit.title,
            severity=hit.severity,
            source=source,
            path=hit.path,
            line=hit.line,
            hashed_secret=hit.hashed_secret,
            redacted=hit.redacted,
            layer=layer,
            state=state,
            hidden_by=hidden_by,
            target=target,
            third_party=source == "layer" and rules.is_third_party(hit.path),
        )
    )
