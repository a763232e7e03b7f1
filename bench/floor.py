"""The floor: Python's tarfile reading every member of every layer once, and nothing else.

    python bench/floor.py ARCHIVE

What reading an image costs with the standard library on one core; the benchmark compares
hubguard's cold scans against it. hubguard reads layers with its own tar reader
(hubguard/sources/tarstream.py), which reads the real image in under a seventh of this time,
so a hubguard scan can come out under this floor. Prints members and bytes.
"""

from __future__ import annotations

import json
import sys
import tarfile

CHUNK = 1024 * 1024


def read_every_member(archive: str) -> tuple[int, int]:
    """Stream each layer of a docker-archive in manifest order; returns (members, bytes read)."""
    members = total = 0
    with tarfile.open(archive) as outer:
        manifest_file = outer.extractfile("manifest.json")
        if manifest_file is None:
            raise SystemExit(f"floor: {archive} has no manifest.json")
        for layer_name in json.load(manifest_file)[0]["Layers"]:
            layer_file = outer.extractfile(layer_name)
            if layer_file is None:
                raise SystemExit(f"floor: {archive} lists {layer_name} but does not hold it")
            with tarfile.open(fileobj=layer_file, mode="r|*") as layer:
                for member in layer:
                    members += 1
                    if not member.isfile():
                        continue  # directories and links are a header only
                    data = layer.extractfile(member)
                    while data is not None and (chunk := data.read(CHUNK)):
                        total += len(chunk)
    return members, total


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: python bench/floor.py ARCHIVE", file=sys.stderr)
        return 2
    members, total = read_every_member(sys.argv[1])
    print(f"{members} members, {total} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
