"""What each detect-secrets plugin costs and what it finds that hubguard's own rules do not.

    python bench/plugins.py [--megabytes 8] [--runs 3]

Recall: the quality image (examples/quality_report.py) and the leaky example image are
scanned with every plugin in rules/detect_secrets.toml, then with each plugin left out; a
plugin earns its place when leaving it out loses a planted secret or a finding no rule makes.
Cost: the same plugins' share of scan time on keyword-dense text (bench/densetext.py) and on
the plain benchmark image's kind of text (source files), median of ``--runs``.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from densetext import dense_files  # noqa: E402

from examples.leaky_image import write_archive  # noqa: E402
from examples.quality_report import score, write_quality_archive  # noqa: E402
from hubguard.detect.engine import Detector  # noqa: E402
from hubguard.detect.rules import RuleSet, load_rules, pack_files  # noqa: E402
from hubguard.scan import Scanner, ScanOptions  # noqa: E402


def scan_with(rules: RuleSet, archive: Path):
    scanner = Scanner(ScanOptions(use_cache=False))
    scanner.__dict__["rules"] = rules  # the cached property, preset: this rule set, not the packs
    return scanner.scan([f"docker-archive:{archive}"])


CANDIDATES = HERE / "plugin_candidates"


def candidate_rules() -> RuleSet:
    """The shipped packs with every candidate plugin (shipped or left out) in play."""
    return load_rules([CANDIDATES])


def findings_key(report) -> set[tuple[str, str]]:
    return {(finding.path, finding.hashed_secret) for finding in report.findings}


def timed(detector: Detector, files: dict[str, bytes], runs: int) -> float:
    """Median CPU seconds (not wall: the machine is shared) to scan ``files``."""
    times = []
    for _ in range(runs):
        start = time.process_time()
        for path, data in files.items():
            detector.scan_text(data, path)
        times.append(time.process_time() - start)
    return statistics.median(times)


def lines_woken(detector: Detector, files: dict[str, bytes], position: int) -> int:
    """On how many lines the plugin at ``position`` runs: its cost, free of timing noise."""
    woken = 0
    for data in files.values():
        for start, end, _ in detector._candidates(data, 1, [False]):
            woken += position in detector.triggers.woken(data[start:end].decode("utf-8", "replace"))[1]
    return woken


def source_text(megabytes: float) -> dict[str, bytes]:
    """Python sources of this interpreter's standard library: ordinary code, comments, docs."""
    files, size = {}, 0
    for path in sorted(Path(dataclasses.__file__).parent.glob("*.py")):
        data = path.read_bytes()
        files[str(path)] = data
        size += len(data)
        if size > megabytes * 2**20:
            break
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=float, default=8.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    full = candidate_rules()
    plugins = list(full.plugins)
    shipped = {plugin.name for plugin in load_rules().plugins}
    print(f"packs: {', '.join(p.name for p in pack_files([CANDIDATES]))}")
    with tempfile.TemporaryDirectory() as directory:
        quality = Path(directory) / "quality.tar"
        image = write_quality_archive(quality)
        leaky = Path(directory) / "leaky.tar"
        write_archive(leaky)
        baseline = {name: scan_with(full, path) for name, path in (("quality", quality), ("leaky", leaky))}
        dense = dense_files("plugins", int(args.megabytes * 2**20))
        code = source_text(args.megabytes)
        for label, files in (("dense text", dense), ("source code", code)):
            megabytes = sum(map(len, files.values())) / 2**20
            seconds = timed(Detector(load_rules()), files, args.runs)
            print(f"shipped rules and plugins, {label}: {megabytes:.1f} MB in {seconds:.2f} CPU s", end="")
            print(f" = {megabytes / seconds:.1f} MB/s per core")
        all_dense = timed(Detector(full), dense, args.runs)
        all_code = timed(Detector(full), code, args.runs)
        print(f"all plugins: dense {all_dense:.2f} s, source {all_code:.2f} s ({args.megabytes:g} MB each)")
        print(
            f"{'plugin':<26} {'dense lines':>11} {'source lines':>12} {'dense s saved':>13} "
            f"{'source s saved':>14} {'planted lost':>12} {'own findings':>12}"
        )
        detector = Detector(full)
        for position, plugin in enumerate(plugins):
            without = dataclasses.replace(full, plugins=tuple(p for p in full.plugins if p != plugin))
            lost = len(score(scan_with(without, quality), image).missed) - len(
                score(baseline["quality"], image).missed
            )
            own = sum(
                len(findings_key(baseline[name]) - findings_key(scan_with(without, path)))
                for name, path in (("quality", quality), ("leaky", leaky))
            )
            saved_dense = all_dense - timed(Detector(without), dense, args.runs)
            saved_code = all_code - timed(Detector(without), code, args.runs)
            name = plugin.name + ("" if plugin.name in shipped else " (out)")
            print(
                f"{name:<26} {lines_woken(detector, dense, position):>11} "
                f"{lines_woken(detector, code, position):>12} {saved_dense:>13.2f} {saved_code:>14.2f} "
                f"{lost:>12} {own:>12}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
