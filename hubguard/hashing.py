"""Hashing beside the read: a layer's digest and its large files' digests, off the reading thread.

A layer is read by one thread, and on a single-layer image that thread is the scan's critical
path. ``hashlib`` releases the GIL while it hashes a large buffer, so handing each buffer to a
second thread lets the reader parse the next headers meanwhile, on the core the workers leave.
"""

from __future__ import annotations

import queue
import threading
from typing import Any

DEPTH = 32  # buffers in flight (at most 1 MiB each): the reader waits when the hasher lags


class HashThread:
    """Applies ``update(hasher, data)`` calls on one background thread, in the order given.

    Use as a context manager around one read; :meth:`wait` before any digest is taken.
    """

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[Any, bytes] | None] = queue.Queue(DEPTH)
        self._thread = threading.Thread(target=self._run, name="hubguard-hash", daemon=True)
        self._error: Exception | None = None  # the first update that failed, raised by wait()

    def __enter__(self) -> HashThread:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._queue.put(None)
        self._thread.join()

    def update(self, hasher: Any, data: bytes) -> None:
        self._queue.put((hasher, data))

    def wait(self) -> None:
        """Returns once every update handed over so far has been applied; raises the first
        that failed (the thread goes on taking updates, so a reader never waits on a dead one)."""
        self._queue.join()
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                if self._error is None:
                    hasher, data = item
                    hasher.update(data)
            except Exception as exc:  # handed to the reader at wait()
                self._error = exc
            finally:
                self._queue.task_done()
