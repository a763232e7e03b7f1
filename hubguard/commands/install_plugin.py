"""``hubguard install-plugin``: make ``docker hubguard …`` work."""

from __future__ import annotations

import argparse

from hubguard.errors import EXIT_CLEAN


def run(args: argparse.Namespace) -> int:
    from hubguard.push.install import install_plugin

    path = install_plugin(args.docker_config, system=args.system)
    print(f"hubguard: installed the docker CLI plugin at {path}; try: docker hubguard push --help")
    return EXIT_CLEAN
