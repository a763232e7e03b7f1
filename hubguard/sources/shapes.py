"""The one place where the JSON documents of an image are checked before anything reads them.

``manifest.json`` (legacy ``docker save``), OCI indexes and manifests, and image configs are
written by whoever made the archive. A wrong type anywhere (a list of strings for a manifest,
``rootfs`` as a string, a number in ``Env``) is an input error with one line naming the
document and the field, never a ``TypeError`` deep inside a scan.
"""

from __future__ import annotations

import re

from hubguard.errors import InputError

DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def legacy_manifest(document: object, source: str) -> list[dict]:
    """``[{"Config": str, "Layers": [str], "RepoTags": [str] | null}, …]``, at least one entry."""
    if not isinstance(document, list) or not document:
        raise InputError(f"{source}: manifest.json lists no image")
    for number, entry in enumerate(document):
        where = f"{source}: manifest.json entry {number}"
        if not isinstance(entry, dict):
            raise InputError(f"{where} is not an object")
        if not isinstance(entry.get("Config"), str) or not entry["Config"]:
            raise InputError(f"{where} has no Config")
        _strings(entry.get("Layers", []), f"{where} Layers")
        _strings(entry.get("RepoTags") or [], f"{where} RepoTags")
    return document


def image_config(document: object, source: str) -> dict:
    """An image config whose every field hubguard reads has the type the spec gives it."""
    if not isinstance(document, dict):
        raise InputError(f"{source}: image config is not an object")
    rootfs = document.get("rootfs", {})
    if not isinstance(rootfs, dict):
        raise InputError(f"{source}: image config rootfs is not an object")
    for digest in _strings(rootfs.get("diff_ids", []), f"{source}: image config rootfs.diff_ids"):
        digest_of(digest, f"{source}: image config diff_id")
    history = document.get("history") or []
    if not isinstance(history, list) or not all(isinstance(step, dict) for step in history):
        raise InputError(f"{source}: image config history is not a list of objects")
    for step in history:
        if not isinstance(step.get("created_by", ""), str) or not isinstance(
            step.get("empty_layer", False), bool
        ):
            raise InputError(
                f"{source}: image config history has a non-string created_by or non-boolean empty_layer"
            )
    container = document.get("config") or {}
    if not isinstance(container, dict):
        raise InputError(f"{source}: image config field config is not an object")
    _strings(container.get("Env") or [], f"{source}: image config Env")
    labels = container.get("Labels") or {}
    if not isinstance(labels, dict) or not all(isinstance(value, str) for value in labels.values()):
        raise InputError(f"{source}: image config Labels is not an object of strings")
    texts = [
        *(container.get("Env") or []),
        *labels,
        *labels.values(),
        *(step.get("created_by", "") for step in history),
    ]
    if not all(_unicode(text) for text in texts):
        raise InputError(f"{source}: image config holds text that is not valid Unicode")
    for key in ("os", "architecture"):
        if not isinstance(document.get(key, ""), str):
            raise InputError(f"{source}: image config {key} is not a string")
    return document


def oci_index(document: object, source: str) -> list[dict]:
    """An index's manifest descriptors."""
    if not isinstance(document, dict) or not isinstance(document.get("manifests"), list):
        raise InputError(f"{source}: index has no manifests list")
    return [descriptor(entry, f"{source}: index entry") for entry in document["manifests"]]


def oci_manifest(document: object, source: str) -> tuple[dict, list[dict]]:
    """(config descriptor, layer descriptors) of an image manifest."""
    if not isinstance(document, dict) or "config" not in document:
        raise InputError(f"{source}: image manifest has no config")
    layers = document.get("layers", [])
    if not isinstance(layers, list):
        raise InputError(f"{source}: image manifest layers is not a list")
    config = descriptor(document["config"], f"{source}: manifest config")
    return config, [descriptor(layer, f"{source}: manifest layer") for layer in layers]


def descriptor(document: object, where: str) -> dict:
    """An OCI descriptor: an object with a sha256 ``digest`` and, if present, typed fields."""
    if not isinstance(document, dict):
        raise InputError(f"{where} is not an object")
    digest_of(document.get("digest"), where)
    if not isinstance(document.get("mediaType", ""), str):
        raise InputError(f"{where} mediaType is not a string")
    annotations = document.get("annotations") or {}
    if not isinstance(annotations, dict) or not all(isinstance(item, str) for item in annotations.values()):
        raise InputError(f"{where} annotations is not an object of strings")
    platform = document.get("platform") or {}
    if not isinstance(platform, dict) or not all(
        isinstance(platform.get(key, ""), str) for key in ("os", "architecture", "variant")
    ):
        raise InputError(f"{where} platform is not an object with string os and architecture")
    return document


def digest_of(value: object, where: str) -> str:
    """A ``sha256:<64 hex>`` digest (the only algorithm hubguard verifies, and all Docker writes)."""
    if not isinstance(value, str) or not DIGEST.fullmatch(value):
        raise InputError(f"{where} has no valid sha256 digest")
    return value


def _unicode(text: str) -> bool:
    """False for a lone surrogate (JSON can spell one as ``\\ud800``): it stands for no text."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _strings(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InputError(f"{where} is not a list of strings")
    return value
