"""``hubguard cache dir|clear``: where the layer cache is, or empty it."""

from __future__ import annotations

import argparse

from hubguard.errors import EXIT_CLEAN


def run(args: argparse.Namespace) -> int:
    from hubguard import cache

    root = args.cache_dir or cache.default_cache_dir()
    if args.action == "dir":
        print(root)
    else:
        print(f"removed {cache.clear(root)} cache entries from {root}")
    return EXIT_CLEAN
