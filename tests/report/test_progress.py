"""The progress bar: only on a terminal, only after the delay, in bytes, erased at the end."""

from __future__ import annotations

import io

from rich.console import Console

from hubguard.report.progress import ByteProgress


def console(terminal: bool) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=terminal, width=80), out


def test_shown_on_a_terminal_after_the_delay_counting_bytes():
    shown, out = console(terminal=True)
    with ByteProgress("scanning layers", shown, delay=0) as progress:
        progress.update(1_000_000, 3_000_000)
        progress.bar.refresh()
        assert "1.0/3.0 MB" in out.getvalue()
        progress.update(3_000_000, 3_000_000)
    assert "scanning layers" in out.getvalue()


def test_quick_commands_and_pipes_show_nothing():
    for terminal, delay in ((True, 60.0), (False, 0.0)):
        quiet, out = console(terminal)
        with ByteProgress("scanning", quiet, delay=delay) as progress:
            progress.update(1, 2)
            progress.update(2, 2)
        assert progress.bar is None
        assert out.getvalue() == ""


def test_scan_progress_counts_bytes_within_a_layer(tmp_path):
    from examples.leaky_image import write_archive
    from hubguard.scan import Scanner, ScanOptions

    archive = tmp_path / "leaky.tar"
    write_archive(archive)
    seen: list[tuple[int, int]] = []
    Scanner(
        ScanOptions(jobs=1, use_cache=False), progress=lambda done, total: seen.append((done, total))
    ).scan([f"docker-archive:{archive}"])
    totals = {total for _, total in seen}
    assert len(totals) == 1 and seen[-1][0] == seen[-1][1] > 0
    dones = [done for done, _ in seen]
    assert dones == sorted(dones)
    assert len(set(dones)) > 5  # moves file by file inside the big layer, not once per layer


def test_context_progress_counts_the_bytes_of_sent_files(tmp_path):
    from hubguard.context import ContextScanner

    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    for number in range(5):
        (tmp_path / f"file{number}.txt").write_text("x" * 1000)
    scanner = ContextScanner()
    seen: list[tuple[int, int]] = []
    scanner.progress = lambda done, total: seen.append((done, total))
    scanner.check(tmp_path)
    assert seen[-1] == (5000 + len("FROM scratch\n"), 5000 + len("FROM scratch\n"))
    assert len(seen) == 6
