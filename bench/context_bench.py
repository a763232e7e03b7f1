"""Issue 4's speed goal: ``hubguard context`` on a 50,000-file tree whose 1 GB ``node_modules``
is excluded by .dockerignore, enumerated and scanned in under 3 seconds.

    python bench/context_bench.py [--runs 3] [--files 50000] [--keep]

Generates the tree under /tmp (the ``node_modules`` gigabyte is sparse files, so it costs no
disk), runs ``hubguard context DIR`` ``--runs`` times and reports the median wall time, next to
a floor measured the same way: ``find`` pruning ``node_modules`` piped into ``cat`` of every file
that is sent (enumerate and read the context, nothing else). Every run must see exactly the one
planted secret, so a fast wrong answer cannot pass. Exit 0 when the goal is met, 1 when missed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakes import expand

GOAL_SECONDS = 3.0
NODE_MODULES_BYTES = 1 << 30
NODE_MODULES_SHARE = 0.9  # of the files, as in a typical JS project; the rest is the project's own code
BIG_BLOBS = 8  # sparse files that make up the gigabyte
FILES_PER_DIR = 100
SOURCE_TEMPLATE = '''"""Module {index}: part of a generated benchmark project."""

import logging

LOG = logging.getLogger(__name__)
TIMEOUT_SECONDS = {index}


def handle_{index}(request: dict) -> dict:
    """Echo the request with a counter, like a small web handler would."""
    LOG.debug("handling %s", request.get("id"))
    return {{"id": request.get("id"), "count": {index}, "ok": True}}
'''


def build_tree(root: Path, total_files: int, vendored_share: float) -> int:
    """Write the project; returns how many files the build context sends."""
    vendored = int(total_files * vendored_share)
    own = total_files - vendored - 3  # minus Dockerfile, .dockerignore and the planted secret
    (root / "Dockerfile").write_text("FROM scratch\nCOPY . /app/\n")
    (root / ".dockerignore").write_text(".git\nnode_modules\n*.log\n")
    for index in range(own):
        directory = root / "src" / f"pkg{index // FILES_PER_DIR:04d}"
        if index % FILES_PER_DIR == 0:
            directory.mkdir(parents=True)
        (directory / f"module{index}.py").write_text(SOURCE_TEMPLATE.format(index=index))
    token = expand("ghp_{alnum:36}", seed="context-bench")
    (root / "src" / "settings.py").write_text(f'GITHUB_TOKEN = "{token}"\n')
    modules = root / "node_modules"
    small = vendored - BIG_BLOBS
    for index in range(small):
        directory = modules / f"package{index // FILES_PER_DIR:04d}" / "lib"
        if index % FILES_PER_DIR == 0:
            directory.mkdir(parents=True)
        (directory / f"file{index}.js").write_text(f"module.exports = {index};\n")
    blob_dir = modules / "big-binaries"
    blob_dir.mkdir()
    for index in range(BIG_BLOBS):
        with open(blob_dir / f"blob{index}.bin", "wb") as handle:
            handle.truncate(NODE_MODULES_BYTES // BIG_BLOBS)
    return own + 3


def timed(command: list[str] | str, **kwargs) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Wall seconds and CPU seconds (user + system, worker processes included) of one command.

    CPU time is reported too because a shared machine's load inflates wall time alone."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument(
        "--vendored-share", type=float, default=NODE_MODULES_SHARE, help="share of files in node_modules"
    )
    parser.add_argument("--keep", action="store_true", help="leave the generated tree in /tmp")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="hubguard-context-bench-", dir="/tmp"))
    try:
        started = time.perf_counter()
        sent = build_tree(root, args.files, args.vendored_share)
        print(f"tree: {args.files} files, {sent} sent, node_modules 1 GiB excluded ({root})")
        print(f"generated in {time.perf_counter() - started:.1f} s")
        subprocess.run(["sync"], check=False)
        hubguard = [sys.executable, "-m", "hubguard", "context", str(root), "--format", "json"]
        floor = f"find {root} -path {root}/node_modules -prune -o -type f -print0 | xargs -0 cat >/dev/null"
        scans, cpus, floors = [], [], []
        load = os.getloadavg()[0]
        for _ in range(args.runs):
            seconds, cpu, result = timed(hubguard, env={**os.environ, "NO_COLOR": "1"})
            report = json.loads(result.stdout or "{}")
            rules = sorted({finding["rule_id"] for finding in report.get("findings", [])})
            if result.returncode != 1 or report["summary"]["problems"] or "github-pat-classic" not in rules:
                print(f"wrong answer (exit {result.returncode}, rules {rules}): {result.stderr.strip()}")
                return 1
            scans.append(seconds)
            cpus.append(cpu)
            floors.append(timed(floor, shell=True, check=True)[0])
        scan, base = statistics.median(scans), statistics.median(floors)
        cores = len(os.sched_getaffinity(0))
        verdict = "PASS" if scan < GOAL_SECONDS else "MISS"
        each = ", ".join(f"{seconds:.2f}" for seconds in scans)
        print(f"hubguard context: median {scan:.2f} s of {args.runs} runs ({each})")
        print(f"  CPU time median {statistics.median(cpus):.2f} s on {cores} cores; load average {load:.1f}")
        print(f"floor (find + cat of the sent files): median {base:.2f} s; ratio {scan / base:.1f}x")
        print(f"goal < {GOAL_SECONDS:.0f} s: {verdict}")
        return 0 if verdict == "PASS" else 1
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
