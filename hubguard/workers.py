"""Worker processes for scans: forked, so rules compiled in the parent are inherited, and
tied to the parent's life, so a killed scan leaves nothing scanning on unseen."""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import signal
from concurrent.futures import ProcessPoolExecutor

PR_SET_PDEATHSIG = 1  # Linux prctl option: signal this process when its parent dies


def forked_pool(jobs: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=jobs, mp_context=multiprocessing.get_context("fork"), initializer=_die_with_parent
    )


def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
