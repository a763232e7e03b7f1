"""Worker processes for scans: forked, so rules compiled in the parent are inherited, and
tied to the parent's life, so a killed scan leaves nothing scanning on unseen."""

from __future__ import annotations

import collections
import contextlib
import os
import signal
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the pool's modules are imported when a pool starts: a small scan never needs them
    from concurrent.futures import Future, ProcessPoolExecutor

PR_SET_PDEATHSIG = 1  # Linux prctl option: signal this process when its parent dies
# A batch is sent to a worker at whichever comes first: this many bytes carried in its jobs…
BATCH_BYTES = 1024 * 1024
BATCH_WORK = 4 * 1024 * 1024  # …this many bytes to scan (jobs that say where bytes lie carry none)…
BATCH_ITEMS = 1024  # …or this many jobs


_INHERITED: Any = None  # what the workers of the running pool inherit; see run_forked


def job_count(jobs: int = 0) -> int:
    """The one rule for how many workers a scan runs: ``jobs`` when the user gave it (``--jobs``),
    else one per core this process may run on."""
    return jobs or len(os.sched_getaffinity(0))


@contextlib.contextmanager
def run_forked(inherit: object, jobs: int) -> Iterator[ProcessPoolExecutor | None]:
    """A pool of ``jobs`` forked workers that inherit ``inherit`` (a scanner whose rules and
    detector the parent compiled once) and reach it with :func:`inherited`; None when one job is
    all there is, and the caller runs the same work functions inline, where they find it too."""
    global _INHERITED
    outer, _INHERITED = _INHERITED, inherit
    try:
        if jobs < 2:
            yield None
        else:
            with _forked_pool(jobs) as pool:
                yield pool
    finally:
        _INHERITED = outer  # a nested use hands the outer one back


def inherited() -> Any:
    """Inside :func:`run_forked` (a worker, or the parent running inline): what it was given."""
    assert _INHERITED is not None, "only work run inside run_forked inherits"
    return _INHERITED


def _forked_pool(jobs: int) -> ProcessPoolExecutor:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(
        max_workers=jobs, mp_context=multiprocessing.get_context("fork"), initializer=_die_with_parent
    )


def _die_with_parent() -> None:
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Fanout:
    """Detection fanned out in batches: the caller reads (one sequential pass) and ``submit``s
    jobs; batches run in the forked workers, at most two per worker in flight so memory stays
    bounded, and every result reaches ``collect(key, result)`` in submission order.

    With one job (or ``pool=None``) batches run inline: the same path, no processes.
    """

    def __init__(
        self,
        run_batch: Callable[[list], list],
        collect: Callable[[object, object], None],
        pool: ProcessPoolExecutor | None,
        jobs: int,
    ) -> None:
        self.run_batch, self.collect, self.pool = run_batch, collect, pool
        self.limit = 2 * max(1, jobs)
        self.keys: list[object] = []
        self.jobs: list[object] = []
        self.size = self.carried = 0
        self.in_flight: collections.deque[tuple[list[object], Future]] = collections.deque()

    def submit(self, key: object, job: object, size: int, *, carried: bool = True) -> None:
        """``job`` scans ``size`` bytes, which it carries unless ``carried`` is False (it says
        where they lie): batches of references grow larger, so fewer go through the pipes."""
        self.keys.append(key)
        self.jobs.append(job)
        self.size += size
        self.carried += size if carried else 0
        if self.carried >= BATCH_BYTES or self.size >= BATCH_WORK or len(self.jobs) >= BATCH_ITEMS:
            self.flush()

    def flush(self) -> None:
        if not self.jobs:
            return
        keys, jobs = self.keys, self.jobs
        self.keys, self.jobs, self.size, self.carried = [], [], 0, 0
        if self.pool is None:
            self._deliver(keys, self.run_batch(jobs))
            return
        self.in_flight.append((keys, self.pool.submit(self.run_batch, jobs)))
        while len(self.in_flight) > self.limit:
            self._collect_oldest()

    def finish(self) -> None:
        """Run what is left and wait for every batch."""
        self.flush()
        while self.in_flight:
            self._collect_oldest()

    def _collect_oldest(self) -> None:
        keys, future = self.in_flight.popleft()
        self._deliver(keys, future.result())

    def _deliver(self, keys: list[object], results: list) -> None:
        for key, result in zip(keys, results, strict=True):
            self.collect(key, result)
