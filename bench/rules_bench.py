"""Issue 13's speed budget: the cold scan may not grow more than 10% with the new rule packs.

    python bench/rules_bench.py [--baseline REV] [--runs 3] [--scale 0.2] [--image plain]

Builds (or reuses) the benchmark image of bench/imagebuild.py, exports the tree at ``REV``
(default: the merge base with main, i.e. before this branch's rules) with ``git archive``, and
runs the same command for both trees, alternating baseline and current so that load on a shared
machine hits both alike: ``python -m hubguard scan docker-archive:IMAGE --format json`` with an
empty ``--cache-dir``. Prints the median wall time of each, their ratio and the token-rule
counts; every run must find the planted secrets. Exit 0 when the ratio is at most 1.10.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from imagebuild import build_images  # noqa: E402

BUDGET = 1.10


def export_tree(revision: str, into: Path) -> Path:
    """The repository at ``revision``, unpacked (code and rule packs as they were)."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", revision], check=True, capture_output=True
    ).stdout
    tree = into / "baseline"
    tree.mkdir()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(tree, filter="data")
    return tree


def token_rules(tree: Path) -> int:
    code = "from hubguard.detect.rules import load_rules; print(len(load_rules().token_rules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=tree, check=True, capture_output=True, text=True)
    return int(out.stdout)


def cold_scan(tree: Path, archive: Path, planted: tuple[str, ...]) -> float:
    """Wall seconds of one cold scan from ``tree``; fails unless every planted secret is found."""
    with tempfile.TemporaryDirectory(prefix="hubguard-rules-bench-") as cache:
        command = [sys.executable, "-m", "hubguard", "scan", f"docker-archive:{archive}"]
        command += ["--format", "json", "--cache-dir", cache]
        env = {**os.environ, "PYTHONPATH": str(tree)}
        start = time.perf_counter()
        result = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
    if result.returncode not in (0, 1):
        raise SystemExit(f"scan from {tree} failed ({result.returncode}): {result.stderr.strip()[-300:]}")
    found = {finding["hashed_secret"] for finding in json.loads(result.stdout)["findings"]}
    missing = [sha for sha in planted if sha not in found]
    if missing:
        raise SystemExit(f"scan from {tree} missed {len(missing)} planted secrets")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scale", type=float, default=0.2)
    parser.add_argument("--image", default="plain", choices=("plain", "dense"))
    parser.add_argument("--out", type=Path, default=HERE / "out")
    args = parser.parse_args()
    baseline = (
        args.baseline
        or subprocess.run(
            ["git", "-C", str(ROOT), "merge-base", "HEAD", "main"], check=True, capture_output=True, text=True
        ).stdout.strip()
    )
    image = build_images(args.out, args.scale, lambda line: print(line, file=sys.stderr))[args.image]
    with tempfile.TemporaryDirectory(prefix="hubguard-baseline-") as tmp:
        old_tree = export_tree(baseline, Path(tmp))
        times: dict[str, list[float]] = {"baseline": [], "current": []}
        for _ in range(args.runs):
            times["baseline"].append(cold_scan(old_tree, image.archive, image.planted))
            times["current"].append(cold_scan(ROOT, image.archive, image.planted))
        counts = {"baseline": token_rules(old_tree), "current": token_rules(ROOT)}
    medians = {name: statistics.median(values) for name, values in times.items()}
    ratio = medians["current"] / medians["baseline"]
    print(f"image {image.name}: {image.files} files, {image.size / 1e6:.0f} MB; baseline {baseline[:10]}")
    for name in ("baseline", "current"):
        runs = ", ".join(f"{value:.2f}" for value in times[name])
        print(f"{name:8}  {counts[name]:4} token rules  median {medians[name]:.2f} s  ({runs})")
    verdict = "PASS" if ratio <= BUDGET else "MISS"
    print(f"ratio current/baseline: {ratio:.3f} (budget {BUDGET:.2f}): {verdict}")
    return 0 if ratio <= BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
