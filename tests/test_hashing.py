"""The hashing thread applies every update, in order, before ``wait`` returns."""

from __future__ import annotations

import hashlib
import os
import threading

import pytest

from hubguard.hashing import DEPTH, HashThread


def test_updates_are_applied_in_order_before_wait_returns():
    pieces = [os.urandom(size) for size in (1, 4096, 70_000, 3) * DEPTH]  # more than the queue holds
    expected = hashlib.sha256(b"".join(pieces)).hexdigest()
    with HashThread() as hashes:
        first, second = hashlib.sha256(), hashlib.sha256()
        for piece in pieces:
            hashes.update(first, piece)
            hashes.update(second, piece)
        hashes.wait()
        assert first.hexdigest() == second.hexdigest() == expected


def test_the_thread_ends_with_its_block_even_when_the_block_fails():
    try:
        with HashThread() as hashes:
            hashes.update(hashlib.sha256(), b"x")
            raise KeyError("a failed read")
    except KeyError:
        pass
    assert "hubguard-hash" not in {thread.name for thread in threading.enumerate()}


def test_a_failed_update_is_raised_by_wait_and_never_blocks_the_reader():
    class Failing:
        def update(self, data: bytes) -> None:
            raise MemoryError("no room to hash")

    with HashThread() as hashes:
        hashes.update(Failing(), b"x")
        for _ in range(DEPTH * 3):  # more than the queue holds: a dead thread would block here
            hashes.update(hashlib.sha256(), b"y")
        with pytest.raises(MemoryError, match="no room"):
            hashes.wait()
