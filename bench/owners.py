"""What deciding owners costs: cold scans of one image with and without ownership.

Without ownership nothing is recorded during the per-layer scan (no package databases kept,
no hit files hashed) and no owner is decided afterwards; everything else is the same scan.
Runs alternate (with, without, with, …) so machine load hits both alike; the median of each
is reported with their ratio.

    python bench/owners.py docker-archive:/tmp/stack.tar --runs 3
"""

from __future__ import annotations

import argparse
import statistics
import time

from hubguard.scan import Scanner, ScanOptions


def cold_scan(spec: str, ownership: bool) -> tuple[float, int]:
    """Seconds for one uncached scan, and how many findings it reported."""
    started = time.perf_counter()
    report = Scanner(ScanOptions(use_cache=False, ownership=ownership)).scan([spec])
    return time.perf_counter() - started, len(report.findings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", help="docker-archive:PATH, oci:DIR or an engine image")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    times: dict[bool, list[float]] = {True: [], False: []}
    for run in range(args.runs):
        for ownership in (True, False):
            seconds, findings = cold_scan(args.image, ownership)
            times[ownership].append(seconds)
            label = "with" if ownership else "without"
            print(f"run {run + 1}: {label:<7} ownership {seconds:7.2f} s, {findings} findings", flush=True)
    with_median, without_median = statistics.median(times[True]), statistics.median(times[False])
    print(f"median with ownership    {with_median:7.2f} s")
    print(f"median without ownership {without_median:7.2f} s")
    print(f"ownership cost           {100 * (with_median / without_median - 1):+6.1f} %")


if __name__ == "__main__":
    main()
