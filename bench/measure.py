"""Run one command and measure what a user waits for and what it costs the machine.

Wall time and CPU time (user + system, children included) come from ``wait4``'s rusage. Peak
RSS comes from GNU time (``/usr/bin/time -f %M``), not from our own ``wait4``: a child's
``ru_maxrss`` keeps the high-water mark it had before ``exec``, i.e. this benchmark's own memory,
while time's child starts from time's few hundred KB. Both report the largest single process,
not the tree, so a sampler also sums the proportional set size (PSS: shared pages split between
the processes sharing them) of the command and all its descendants ten times a second; a
scanner's worker pool is judged by that sum.
"""

from __future__ import annotations

import os
import shutil
import signal
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SAMPLE_SECONDS = 0.1
GNU_TIME = "/usr/bin/time"


class MeasureError(Exception):
    """The command could not be measured (no GNU time, or it did not report)."""


@dataclass(frozen=True)
class Run:
    """One measured run of a command."""

    wall: float
    cpu: float  # user + system seconds, of the process and every child it waited for
    largest_rss_mb: float
    tree_pss_mb: float
    exit_code: int
    stderr_tail: str

    @property
    def peak_mb(self) -> float:
        """The larger of the two memory views: what the machine had to have free."""
        return max(self.largest_rss_mb, self.tree_pss_mb)

    @property
    def cores(self) -> float:
        """How many cores were busy on average: 2.0 on this machine means both, all the time."""
        return self.cpu / self.wall if self.wall else 0.0


@dataclass(frozen=True)
class Summary:
    """Median time and CPU, worst memory, over a scenario's runs."""

    wall: float
    cores: float
    peak_mb: float
    runs: tuple[Run, ...]


def summarise(runs: list[Run]) -> Summary:
    return Summary(
        wall=statistics.median(run.wall for run in runs),
        cores=statistics.median(run.cores for run in runs),
        peak_mb=max(run.peak_mb for run in runs),
        runs=tuple(runs),
    )


def _children(pid: int) -> list[int]:
    found = []
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in threads:
        try:
            found.extend(int(child) for child in Path(f"/proc/{pid}/task/{tid}/children").read_text().split())
        except OSError:
            continue
    return found


def _memory_kb(pid: int) -> int:
    """PSS from smaps_rollup; RSS where the kernel has no rollup."""
    for path, field in ((f"/proc/{pid}/smaps_rollup", "Pss:"), (f"/proc/{pid}/status", "VmRSS:")):
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(field):
                    return int(line.split()[1])
        except OSError:
            continue
    return 0


def tree_memory_kb(root: int) -> int:
    """Memory of a process and all its descendants, right now."""
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        total += _memory_kb(pid)
        pending.extend(_children(pid))
    return total


class _TreeSampler(threading.Thread):
    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.peak_kb = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak_kb = max(self.peak_kb, tree_memory_kb(self.root))
            self.done.wait(SAMPLE_SECONDS)


def _gnu_time() -> str:
    if not shutil.which(GNU_TIME):
        raise MeasureError(f"{GNU_TIME} is missing: apt-get install -y time")
    return GNU_TIME


def run_measured(command: list[str], env: dict[str, str], stderr_path: Path) -> Run:
    """Run ``command`` to completion (stdout discarded, stderr kept in ``stderr_path``)."""
    time_path = stderr_path.with_suffix(".time")
    timed = [_gnu_time(), "-f", "%M", "-o", str(time_path), *command]
    with stderr_path.open("wb") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(
            timed, env=env, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True
        )
        sampler = _TreeSampler(process.pid)
        sampler.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:
            os.killpg(process.pid, signal.SIGKILL)  # no orphaned scanner keeps both cores busy
            raise
        finally:
            sampler.done.set()
            sampler.join()
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    lines = stderr_path.read_text(errors="replace").strip().splitlines()
    try:
        # GNU time puts "Command exited with non-zero status N" first, the format line last.
        largest_rss_kb = int(time_path.read_text().split()[-1])
    except (OSError, ValueError, IndexError):
        raise MeasureError(f"{GNU_TIME} reported no peak RSS for {command[0]}") from None
    return Run(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        largest_rss_mb=largest_rss_kb / 1024,
        tree_pss_mb=sampler.peak_kb / 1024,
        exit_code=process.returncode,
        stderr_tail=lines[-1] if lines else "",
    )
