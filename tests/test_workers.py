"""The parallel path: with ``jobs >= 2`` and more than ``PARALLEL_MIN_BYTES`` of layers,
layers are scanned in forked worker processes. Its report must equal the serial one, and a
broken layer found by a worker must still make the scan incomplete (exit 3), not crash it or
be skipped.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from examples.save_archive import layer_tar
from hubguard import workers
from hubguard.errors import ScanIncomplete
from hubguard.layer_reader import LayerReader
from hubguard.model import ScanReport, hash_secret
from hubguard.scan import PARALLEL_MIN_BYTES, Scanner, ScanOptions
from hubguard.workers import Fanout
from tests.images import write_docker_archive

FILLER = b"log.info('nothing to see here')\n" * (PARALLEL_MIN_BYTES // 2 // 32 + 1)


@pytest.fixture
def big_image(tmp_path: Path, fake_token: Callable[[str], str]) -> tuple[Path, list[str]]:
    """Three layers, two of them over 2 MiB (so together over the threshold), each with a secret;
    the last one deletes the first layer's file."""
    tokens = [fake_token("ghp_{alnum:36}") for _ in range(3)]
    layers = [
        layer_tar({"/app/a.log": FILLER + f"token = {tokens[0]}\n".encode()}),
        layer_tar({"/app/b.log": f"token = {tokens[1]}\n".encode() + FILLER}),
        layer_tar({"/app/c.txt": f"token = {tokens[2]}\n".encode(), "/app/.wh.a.log": b""}),
    ]
    assert sum(map(len, layers)) > PARALLEL_MIN_BYTES
    return write_docker_archive(tmp_path / "big.tar", layers), tokens


def scan_recording_processes(
    archive: Path, jobs: int, monkeypatch: pytest.MonkeyPatch, record: Path
) -> tuple[ScanReport, set[int], list[tuple[int, int]]]:
    """Scan; return the report, the processes that scanned layers and the progress calls."""
    real_detect = LayerReader.detect

    def recording_detect(self, job):
        with open(record, "a") as out:  # forked workers inherit this patch and append here
            out.write(f"{os.getpid()}\n")
        return real_detect(self, job)

    monkeypatch.setattr(LayerReader, "detect", recording_detect)
    progress: list[tuple[int, int]] = []
    options = ScanOptions(use_cache=False, jobs=jobs)
    report = Scanner(options, progress=lambda done, total: progress.append((done, total))).scan(
        [f"docker-archive:{archive}"]
    )
    pids = {int(line) for line in record.read_text().split()}
    record.unlink()
    return report, pids, progress


def test_parallel_scan_runs_in_workers_and_equals_the_serial_one(big_image, monkeypatch, tmp_path):
    archive, tokens = big_image
    record = tmp_path / "pids"
    serial, serial_pids, serial_progress = scan_recording_processes(archive, 1, monkeypatch, record)
    parallel, parallel_pids, parallel_progress = scan_recording_processes(archive, 2, monkeypatch, record)

    assert serial_pids == {os.getpid()}
    assert parallel_pids and os.getpid() not in parallel_pids  # every file detected in a worker
    assert serial_progress == parallel_progress
    assert serial_progress[-1][0] == serial_progress[-1][1] > PARALLEL_MIN_BYTES  # bytes, all read

    def shown(report: ScanReport) -> list[tuple]:
        return sorted(
            (f.path, f.line, f.hashed_secret, f.layer.index, f.state, f.hidden_by and f.hidden_by.index)
            for f in report.findings
        )

    assert (
        shown(parallel)
        == shown(serial)
        == sorted(
            [
                ("/app/a.log", FILLER.count(b"\n") + 1, hash_secret(tokens[0]), 0, "deleted", 2),
                ("/app/b.log", 1, hash_secret(tokens[1]), 1, "present", None),
                ("/app/c.txt", 1, hash_secret(tokens[2]), 2, "present", None),
            ]
        )
    )


def test_a_corrupt_layer_in_a_worker_makes_the_scan_incomplete(tmp_path, fake_token):
    good = layer_tar({"/app/a.log": FILLER * 2})  # alone over the threshold: the workers run
    cut = layer_tar({"/app/b.log": FILLER + f"token = {fake_token('ghp_{alnum:36}')}\n".encode()})
    archive = write_docker_archive(tmp_path / "cut.tar", [good, cut[: len(cut) // 2]])
    with pytest.raises(ScanIncomplete, match="truncated or corrupt"):
        Scanner(ScanOptions(use_cache=False, jobs=2)).scan([f"docker-archive:{archive}"])

    result = subprocess.run(
        [sys.executable, "-m", "hubguard", "scan", f"docker-archive:{archive}", "--jobs", "2", "--no-cache"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    assert "truncated or corrupt" in result.stderr


def test_batches_flush_at_carried_bytes_but_references_batch_by_work():
    """Jobs that carry bytes go out every BATCH_BYTES; jobs that only say where bytes lie go
    out every BATCH_WORK bytes to scan (or BATCH_ITEMS jobs): fewer trips through the pipes."""
    batches: list[list[int]] = []

    def run_batch(jobs: list) -> list:
        batches.append(jobs)
        return [None] * len(jobs)

    fanout = Fanout(run_batch, lambda key, result: None, None, 1)
    size = workers.BATCH_BYTES // 4
    for number in range(8):
        fanout.submit("layer", number, size)
    assert [len(batch) for batch in batches] == [4, 4]
    batches.clear()
    for number in range(2 * workers.BATCH_WORK // size):
        fanout.submit("layer", number, size, carried=False)
    assert [len(batch) for batch in batches] == [workers.BATCH_WORK // size] * 2
    batches.clear()
    for number in range(workers.BATCH_ITEMS + 1):
        fanout.submit("layer", number, 1, carried=False)
    fanout.finish()
    assert [len(batch) for batch in batches] == [workers.BATCH_ITEMS, 1]
