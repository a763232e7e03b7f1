"""The base image: which bottom layers an image inherited (``--base``, or the OCI base label),
so findings there are the base's, fixed by updating or changing the base image."""

from __future__ import annotations

from hubguard.errors import InputError
from hubguard.owners import LayerRecords, Ownership
from hubguard.sources import source_for

BASE_LABELS = ("org.opencontainers.image.base.name", "org.opencontainers.image.base.digest")


def base_label(config: dict) -> str:
    """``label=value`` naming the image's base in its OCI labels (name, else digest), or ``""``."""
    labels = (config.get("config") or {}).get("Labels") or {}
    return next((f"{key}={labels[key]}" for key in BASE_LABELS if labels.get(key)), "")


def base_diff_ids(spec: str, *, required: bool = True) -> list[str]:
    """The layer diff_ids of the base image ``spec``: an engine image (inspected, not exported),
    ``docker-archive:`` or ``oci:``. A base named only by a label may be absent: no layers."""
    try:
        return source_for(spec).diff_ids(spec)
    except InputError as exc:
        if required:
            raise InputError(f"base image {exc}") from None
        return []  # a label naming an image the engine lacks (or no engine at all): no base


def inherited_layers(digests: list[str], base: list[str]) -> int:
    """How many bottom layers the image shares with its base (a common prefix of diff_ids)."""
    count = 0
    for mine, theirs in zip(digests, base, strict=False):
        if mine != theirs:
            break
        count += 1
    return count if count == len(base) else 0


def image_ownership(
    records: list[LayerRecords], digests: list[str], base: str | None, label: str, layouts: tuple[str, ...]
) -> Ownership:
    """Owners from every layer's records, the layers shared with the base (``--base``, else the
    image's base ``label``) counted as inherited."""
    inherited, how = 0, ""
    if base:
        inherited = inherited_layers(digests, base_diff_ids(base))
        how = f"--base {base}"
    elif label:
        named = label.partition("=")[2]
        inherited = inherited_layers(digests, base_diff_ids(named, required=False))
        how = f"label {label}"
    return Ownership(records, base_layers=inherited, base_how=how, layouts=layouts)
