"""Where bytes come from: the Docker engine, ``docker save`` archives and OCI layouts.

Every source yields :class:`Image` objects with the same shape, so detection and policy
never care where an image was read from.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from hubguard.errors import InputError

if TYPE_CHECKING:
    from hubguard.sources.image import Image

ARCHIVE_PREFIX = "docker-archive:"
OCI_PREFIX = "oci:"


@contextlib.contextmanager
def open_images(
    spec: str, *, platform: str | None = None, all_platforms: bool = False
) -> Iterator[list[Image]]:
    """Open what ``spec`` names: ``docker-archive:PATH``, ``oci:DIR`` or an image in the engine."""
    if spec.startswith(ARCHIVE_PREFIX):
        from hubguard.sources.archive import open_archive

        path = spec[len(ARCHIVE_PREFIX) :]
        if not path:
            raise InputError("docker-archive: needs a path, e.g. docker-archive:app.tar")
        with open_archive(path, platform=platform, all_platforms=all_platforms) as images:
            yield images
    elif spec.startswith(OCI_PREFIX):
        from hubguard.sources.oci import open_layout

        path = spec[len(OCI_PREFIX) :]
        if not path:
            raise InputError("oci: needs a directory, e.g. oci:./layout")
        yield open_layout(path, platform=platform, all_platforms=all_platforms)
    else:
        from hubguard.sources.daemon import open_daemon_image

        with open_daemon_image(spec, platform=platform) as images:
            yield images
