"""Where bytes come from: the Docker engine, ``docker save`` archives and OCI layouts.

Every source yields :class:`Image` objects with the same shape, so detection and policy
never care where an image was read from. Each kind of source is one :class:`Source` in the
registry below; callers ask :func:`source_for` and never look at a spec's prefix themselves.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, Protocol

if TYPE_CHECKING:
    from hubguard.sources.image import Image

# Tried in order, each module's ``SOURCE`` claiming the specs it reads; the engine comes last
# and takes every other spec. Modules are imported when asked: the engine's pulls in docker-py.
SOURCES = ("hubguard.sources.archive", "hubguard.sources.oci")
ENGINE = "hubguard.sources.daemon"


@dataclass
class ImageStream:
    """An image read once, front to back, without seeking (the engine's export): ``read`` hands
    each layer to ``scan_layer(member, reader)`` as it passes and returns the images, whose
    layers' ``blob.path`` names the member that was scanned."""

    size: int  # bytes the image holds: the progress total, and whether workers repay starting
    read: Callable[[Callable[[str, BinaryIO], None]], list[Image]]


class Source(Protocol):
    """One kind of image spec: ``docker-archive:PATH``, ``oci:DIR``, or an engine image."""

    def claims(self, spec: str) -> bool:
        """Whether ``spec`` names an image of this source."""
        ...

    def identity(self, spec: str) -> str:
        """The image ID, when the source can tell it without reading the image (the engine:
        one inspect), so a fully cached scan reads nothing; ``""`` when only reading can tell."""
        ...

    def open(
        self, spec: str, *, platform: str | None, all_platforms: bool
    ) -> AbstractContextManager[list[Image]]:
        """The images ``spec`` holds (one platform, or all), their layers openable by seeking."""
        ...

    def stream(
        self, spec: str, identity: str, *, platform: str | None, all_platforms: bool
    ) -> ImageStream | None:
        """The image as one front-to-back read, when that is how the source is best read
        (no temporary copy); ``None``: ``open`` it."""
        ...

    def diff_ids(self, spec: str) -> list[str]:
        """The layer diff_ids of the (first) image, as cheaply as the source allows. Errors
        are an ``InputError`` whose message names ``spec``."""
        ...


def source_for(spec: str) -> Source:
    """The source that reads ``spec``."""
    for module in SOURCES:
        source: Source = importlib.import_module(module).SOURCE
        if source.claims(spec):
            return source
    return engine_source()


def engine_source() -> Source:
    """The Docker engine, for a reference that must be read from it (a push's)."""
    return importlib.import_module(ENGINE).SOURCE


@contextlib.contextmanager
def open_images(
    spec: str, *, platform: str | None = None, all_platforms: bool = False
) -> Iterator[list[Image]]:
    """Open what ``spec`` names: ``docker-archive:PATH``, ``oci:DIR`` or an image in the engine."""
    with source_for(spec).open(spec, platform=platform, all_platforms=all_platforms) as images:
        yield images
