"""What deciding owners costs: cold scans of one image with and without ownership.

Without ownership nothing is recorded during the per-layer scan (no package databases kept,
no hit files hashed) and no owner is decided afterwards; everything else is the same scan.
Runs alternate (with, without, with, …) so machine load hits both alike; the median of each
is reported with their ratio, for wall time and for CPU time (this process and its scan
workers: steadier than wall time on a shared machine).

    python bench/owners.py docker-archive:/tmp/stack.tar --runs 3
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

from hubguard.scan import Scanner, ScanOptions


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
    parser.add_argument("image", help="docker-archive:PATH, oci:DIR or an engine image")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    wall: dict[bool, list[float]] = {True: [], False: []}
    cpu: dict[bool, list[float]] = {True: [], False: []}
    for run in range(args.runs):
        for ownership in (True, False):
            seconds, cpu_used, findings = cold_scan(args.image, ownership)
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


if __name__ == "__main__":
    main()
