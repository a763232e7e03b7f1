"""Issue 10 item 17: ``hubguard context`` with a 100,000-line .dockerignore must take a few
seconds and bounded memory, under each builder's semantics.

    python bench/dockerignore_lines.py [--runs 5] [--lines 100000] [--files 2000] [--keep]

Generates a context under /tmp: ``--files`` small source files in nested directories and a
generated ignore file of ``--lines`` lines (exact paths, ``dir/*.o`` globs, ``**/name`` suffixes,
``dir/**`` prefixes and a few classes and exceptions, the shapes generated ignore lists have).
For each builder it runs ``hubguard context DIR --format json --builder B`` ``--runs`` times and
reports the median wall time, CPU time and peak RSS, next to two baselines measured the same way
in the same command: the same context with a one-line ignore file (what the scan costs without
the big file), and reading and parsing the big file alone. Every run must list the capped number
of unused lines and count the rest, so a fast wrong answer cannot pass. Exit 0 when every
builder's median is under the goal, 1 otherwise.

Set PYTHONPATH to another checkout's root to measure that hubguard instead (e.g. the code before
a change, ``git archive REF hubguard rules | tar -x -C DIR``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_SECONDS = 5.0
BUILDERS = ("buildkit", "buildkit-20.10", "classic")
UNUSED_LISTED = 100  # hubguard lists this many unused lines and counts the rest in a note
FILES_PER_DIR = 50
LINE_SHAPES = (
    "build{i}/*.o",
    "**/cache{i}",
    "docs/page{i}.md",
    "tmp{i}/**",
    "src/gen{i}/[ab]*.py",
    "!keep{i}.txt",
    "logs/{i}/*.log",
    "vendor/pkg{i}",
)
PARSE_ONLY = (
    "import sys; from hubguard.dockerignore import parse_dockerignore; "
    "parse_dockerignore(open(sys.argv[1], encoding='utf-8').read())"
)


def build_context(root: Path, lines: int, files: int) -> None:
    """The tree, and the big ignore file beside it as ``big.dockerignore`` (swapped in per run)."""
    for index in range(files):
        directory = root / "src" / f"pkg{index // FILES_PER_DIR:03d}" / "mod"
        if index % FILES_PER_DIR == 0:
            directory.mkdir(parents=True)
        (directory / f"f{index}.py").write_text(f"VALUE = {index}\n")
    text = "\n".join(LINE_SHAPES[i % len(LINE_SHAPES)].format(i=i) for i in range(lines)) + "\n"
    (root.parent / "big.dockerignore").write_text(text)


def measured(command: list[str]) -> tuple[float, float, float, subprocess.CompletedProcess[str]]:
    """Wall seconds, CPU seconds and peak RSS (MB) of one command, from ``wait4`` (its own usage)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        result = subprocess.CompletedProcess(command, process.returncode, out.read(), err.read())
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, result


def check_answer(result: subprocess.CompletedProcess[str], lines: int, builder: str) -> str | None:
    """Why a run's answer is wrong, or None: every generated line matches nothing in the tree."""
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        return f"{builder}: exit {result.returncode}, no JSON: {result.stderr.strip()[-300:]}"
    unused = [f for f in report["findings"] if f["rule_id"] == "dockerignore-unused-pattern"]
    note = f"{lines - UNUSED_LISTED} more lines match nothing"
    if result.returncode != 1 or len(unused) != UNUSED_LISTED:
        return f"{builder}: exit {result.returncode}, {len(unused)} unused lines listed"
    if not any(note in text for text in report["summary"]["notes"]):
        return f"{builder}: no note {note!r}"
    return None


def median_row(label: str, runs: list[tuple[float, float, float]]) -> tuple[float, str]:
    walls, cpus, peaks = zip(*runs, strict=True)
    wall = statistics.median(walls)
    each = ", ".join(f"{seconds:.2f}" for seconds in walls)
    row = (
        f"{label:<42} median {wall:6.2f} s wall ({each}), CPU {statistics.median(cpus):5.2f} s, "
        f"peak {max(peaks):4.0f} MB"
    )
    return wall, row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=2_000)
    parser.add_argument("--builders", nargs="+", default=list(BUILDERS), choices=BUILDERS)
    parser.add_argument("--keep", action="store_true", help="leave the generated tree in /tmp")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="hubguard-dockerignore-bench-", dir="/tmp"))
    root = scratch / "ctx"
    try:
        build_context(root, args.lines, args.files)
        big = scratch / "big.dockerignore"
        ignore = root / ".dockerignore"
        load = os.getloadavg()[0]
        print(f"context: {args.files} files, .dockerignore of {args.lines} lines ({scratch})")
        hubguard = [sys.executable, "-m", "hubguard", "context", str(root), "--format", "json"]
        parse_runs, small_runs = [], []
        big_runs: dict[str, list[tuple[float, float, float]]] = {builder: [] for builder in args.builders}
        for _ in range(args.runs):  # interleaved, so load changes hit every row alike
            wall, cpu, peak, _result = measured([sys.executable, "-c", PARSE_ONLY, str(big)])
            parse_runs.append((wall, cpu, peak))
            ignore.write_text("*.tmp\n")
            wall, cpu, peak, _result = measured(hubguard)
            small_runs.append((wall, cpu, peak))
            shutil.copyfile(big, ignore)
            for builder in args.builders:
                wall, cpu, peak, result = measured([*hubguard, "--builder", builder])
                wrong = check_answer(result, args.lines, builder)
                if wrong:
                    print(f"wrong answer: {wrong}")
                    return 1
                big_runs[builder].append((wall, cpu, peak))
        floor, floor_row = median_row("baseline: one-line .dockerignore", small_runs)
        print(floor_row)
        print(median_row("baseline: parse the big file alone", parse_runs)[1])
        verdicts = []
        for builder, runs in big_runs.items():
            wall, row = median_row(f"hubguard context --builder {builder}", runs)
            verdicts.append(wall < GOAL_SECONDS)
            print(f"{row}; ratio {wall / floor:.1f}x the one-line baseline")
        cores = len(os.sched_getaffinity(0))
        print(f"{args.runs} runs each, {cores} cores, load average {load:.1f} at the start")
        verdict = "PASS" if all(verdicts) else "MISS"
        print(f"goal < {GOAL_SECONDS:.0f} s per builder: {verdict}")
        return 0 if verdict == "PASS" else 1
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
