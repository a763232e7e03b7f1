"""Write an image as a ``docker save`` archive without an engine: each layer a tar, then the
legacy layout (``<sha256>.json`` config, ``<sha256>/layer.tar`` layers, ``manifest.json``).

Shared by the examples and the tests. Every member has a fixed time, so the same files make
the same bytes (and so the same layer digests and image ID) every run.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

MTIME = 1700000000


def layer_tar(files: dict[str, bytes | None]) -> bytes:
    """An uncompressed layer: in-image path -> bytes, or None for a directory (``.wh.`` names delete)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for path, data in files.items():
            info = tarfile.TarInfo(path.lstrip("/"))
            info.mtime = MTIME
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def write_save_archive(path: Path, config: dict, layers: list[bytes], tag: str) -> None:
    """``layers`` (bottom first) and their image ``config`` as ``docker save`` writes them."""
    config_bytes = json.dumps(config).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    members = {config_name: config_bytes}
    layer_names = []
    for data in layers:
        name = hashlib.sha256(data).hexdigest() + "/layer.tar"
        members[name] = data
        layer_names.append(name)
    manifest = [{"Config": config_name, "RepoTags": [tag], "Layers": layer_names}]
    members["manifest.json"] = json.dumps(manifest).encode()
    write_tar(path, members)


def write_tar(path: Path, members: dict[str, bytes]) -> None:
    """A plain tar of regular files, in the order given."""
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
