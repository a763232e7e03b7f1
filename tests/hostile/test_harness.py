"""The harness's memory bound measures hubguard, not the pytest process that started it."""

from __future__ import annotations

import os
import sys

from tests.hostile.harness import run_cli, run_measured

MIB = 1024 * 1024


def test_a_large_pytest_process_does_not_count_towards_the_peak_of_the_run(tmp_path):
    held = bytearray(400 * MIB)
    held[::4096] = bytes(len(held) // 4096)  # a write to every page makes it resident
    run = run_cli(tmp_path, "--version")
    assert run.code == 0, run.stderr
    assert run.peak_mb < 100, f"peak RSS {run.peak_mb:.0f} MB"


def test_the_peak_exit_code_and_output_are_the_programs_own(tmp_path):
    grow = "import sys; data = bytearray(300 * 2**20); data[::4096] = bytes(len(data) // 4096); "
    grow += "print('grown'); sys.exit(3)"
    run = run_measured([sys.executable, "-c", grow], tmp_path, cwd=tmp_path, env=dict(os.environ))
    assert (run.code, run.stdout) == (3, "grown\n")
    assert 300 <= run.peak_mb < 400, f"peak RSS {run.peak_mb:.0f} MB"


def test_a_program_killed_by_a_signal_is_reported_as_killed(tmp_path):
    run = run_measured(
        [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"],
        tmp_path,
        cwd=tmp_path,
        env=dict(os.environ),
    )
    assert run.code == -15
