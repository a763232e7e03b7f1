"""What deciding owners costs: cold scans of one image with and without ownership.

Without ownership nothing is recorded during the per-layer scan (no package databases kept,
no hit files hashed) and no owner is decided afterwards; everything else is the same scan.
Runs alternate (with, without, with, …) so machine load hits both alike; the median of each
is reported with their ratio, for wall time and for CPU time (this process and its scan
workers: steadier than wall time on a shared machine).

    python bench/owners.py --real-stack --runs 3
    python bench/owners.py docker-archive:/tmp/stack.tar --runs 3

``--real-stack`` scans the real-image tests' stack (tests/realimages.py: debootstrap bookworm
plus apt, pip and npm, ≈1.1 GB in two layers), written as a ``docker save`` archive next to
its cached rootfs tarballs (built first when the cache is empty: that takes minutes).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import posixpath
import resource
import statistics
import sys
import tarfile
import time
from pathlib import Path

from hubguard.scan import Scanner, ScanOptions

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.realimages, run from anywhere

from tests.realimages import build_tarballs, cache_root, recipe_key

READ_BLOCK = 1024 * 1024


def real_stack_archive() -> Path:
    """``stack.tar`` beside the cached rootfs tarballs: base (debootstrap + apt) and app (pip +
    npm) as the two layers of one image, the way ``docker build`` stacks them in the tests."""
    directory = cache_root() / recipe_key()
    archive = directory / "stack.tar"
    if archive.is_file():
        return archive
    layers = build_tarballs(directory)
    diff_ids = [f"sha256:{_sha256(layer)}" for layer in layers]
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["/bin/bash"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [
            {"created_by": "debootstrap --variant=minbase bookworm && apt-get install …"},
            {"created_by": "ADD app.tar / # pip install … && npm install …"},
        ],
    }
    config_bytes = json.dumps(config).encode()
    config_name = f"{hashlib.sha256(config_bytes).hexdigest()}.json"
    members = [f"{digest.split(':')[1]}/layer.tar" for digest in diff_ids]
    tag = f"hubguard-real/stack:{recipe_key()}"
    manifest = [{"Config": config_name, "RepoTags": [tag], "Layers": members}]
    partial = archive.with_suffix(".partial")
    with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
        for member, layer in zip(members, layers, strict=True):
            directory_entry = tarfile.TarInfo(posixpath.dirname(member))
            directory_entry.type, directory_entry.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(directory_entry)  # as docker save writes it
            tar.add(layer, arcname=member)
        for name, data in ((config_name, config_bytes), ("manifest.json", json.dumps(manifest).encode())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    partial.replace(archive)
    return archive


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(READ_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def load_note() -> str:
    """The machine's load average: wall times mean little on a busy shared machine."""
    loads = ", ".join(f"{load:.2f}" for load in os.getloadavg())
    return f"load average {loads} on {os.cpu_count()} cores"


def cpu_seconds() -> float:
    """User + system time of this process and of its reaped children (the scan workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def cold_scan(spec: str, ownership: bool) -> tuple[float, float, int]:
    """Wall and CPU seconds for one uncached scan, and how many findings it reported."""
    started, cpu = time.perf_counter(), cpu_seconds()
    report = Scanner(ScanOptions(use_cache=False, ownership=ownership)).scan([spec])
    return time.perf_counter() - started, cpu_seconds() - cpu, len(report.findings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", nargs="?", help="docker-archive:PATH, oci:DIR or an engine image")
    parser.add_argument("--real-stack", action="store_true", help="the real-image tests' stack (see above)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if bool(args.image) == args.real_stack:
        parser.error("name one image, or --real-stack")
    image = args.image or f"docker-archive:{real_stack_archive()}"
    print(f"{image}: {load_note()}", flush=True)
    wall: dict[bool, list[float]] = {True: [], False: []}
    cpu: dict[bool, list[float]] = {True: [], False: []}
    for run in range(args.runs):
        for ownership in (True, False):
            seconds, cpu_used, findings = cold_scan(image, ownership)
            wall[ownership].append(seconds)
            cpu[ownership].append(cpu_used)
            label = "with" if ownership else "without"
            print(
                f"run {run + 1}: {label:<7} ownership {seconds:7.2f} s wall, {cpu_used:7.2f} s CPU, "
                f"{findings} findings",
                flush=True,
            )
    for name, times in (("wall", wall), ("CPU", cpu)):
        with_median, without_median = statistics.median(times[True]), statistics.median(times[False])
        print(
            f"{name:<4} median: with {with_median:7.2f} s, without {without_median:7.2f} s, "
            f"ownership cost {100 * (with_median / without_median - 1):+6.1f} %"
        )
    print(load_note())


if __name__ == "__main__":
    main()
