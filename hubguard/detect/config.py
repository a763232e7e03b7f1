"""An image config's own text: each ``Env`` entry, each label and every history step (build
args show up there as ``|1 TOKEN=… /bin/sh -c …``)."""

from __future__ import annotations

from hubguard.detect.engine import Detector, Hit


def scan_config(detector: Detector, config: dict) -> list[tuple[Hit, str]]:
    """Hits with their finding source: ``config`` (Env, labels) or ``history``."""
    container = config.get("config") or {}
    found = []
    for number, entry in enumerate(container.get("Env") or [], start=1):
        found += [(hit, "config") for hit in detector.scan_value(entry, "Config.Env", number)]
    labels = container.get("Labels") or {}
    for number, (key, value) in enumerate(sorted(labels.items()), start=1):
        text = f"{key}={value}"
        found += [(hit, "config") for hit in detector.scan_value(text, "Config.Labels", number)]
    for number, step in enumerate(config.get("history") or []):
        created_by = step.get("created_by") or ""
        path = f"history[{number}]"
        found += [(hit, "history") for hit in detector.scan_value(created_by, path, None)]
    return found
