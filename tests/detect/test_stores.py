"""Entries of the compiled-rule stores (hubguard/detect/stores.py): written whole or not at all,
and a store that cannot be written raises nothing and leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

from hubguard.detect.stores import write_entry


def test_an_entry_is_written_and_replaced_whole(tmp_path: Path) -> None:
    entry = tmp_path / "store" / "entry.json"
    write_entry(entry, b"first")
    write_entry(entry, b"second")
    assert entry.read_bytes() == b"second"
    assert [path.name for path in entry.parent.iterdir()] == ["entry.json"]


def test_an_unwritable_store_raises_nothing_and_leaves_no_partial_file(tmp_path: Path) -> None:
    in_the_way = tmp_path / "file"
    in_the_way.write_text("")
    write_entry(in_the_way / "store" / "entry.json", b"data")  # the store's parent is a file
    taken = tmp_path / "store" / "entry.json"
    taken.mkdir(parents=True)  # the entry's name is a directory: the rename fails
    write_entry(taken, b"data")
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["entry.json", "file", "store"]
