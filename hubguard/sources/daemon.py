"""Images in the local Docker engine, resolved to an ID first and exported by that ID.

``stream_daemon_image`` scans while the engine exports: the ``docker save`` stream is read
once, front to back, with no temporary file. Each layer goes to the scanner as it passes and
is hashed on the way, so its digest is verified in the same read; the manifest and config
(which come last) then say which layer is which, and are read by the same code as archives.
``open_daemon_image`` (export to a private temporary file) stays for callers that need seeks.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from typing import BinaryIO

import docker
import docker.errors
import requests.exceptions

from hubguard.engine import engine_client, first_line, resolve_image_id
from hubguard.errors import InputError, ScanIncomplete
from hubguard.hashing import HashThread
from hubguard.sources import ImageStream
from hubguard.sources.archive import _legacy_images, open_archive
from hubguard.sources.blobs import MAX_JSON_BYTES, BlobRef, HeaderTooLarge
from hubguard.sources.image import Image
from hubguard.sources.layers import GZIP_MAGIC, ZSTD_MAGIC
from hubguard.sources.oci import images_from_index
from hubguard.sources.tarstream import CorruptTar, Member, MemberData, TarReader

EXPORT_CHUNK = 1024 * 1024
# docker-py gives up on a read after 60 s. The engine's save may assemble the whole export
# before its first byte (minutes for a GB image on vfs under load); the docker CLI waits
# without limit. A stalled export still ends, as an incomplete scan, never a hang.
EXPORT_READ_TIMEOUT = 900


def _export(client: docker.DockerClient, image_id: str) -> Iterator[bytes]:
    """The engine's ``docker save`` stream of one image, with a read timeout an export needs."""
    client.api.timeout = max(client.api.timeout or 0, EXPORT_READ_TIMEOUT)
    return client.api.get_image(image_id, chunk_size=EXPORT_CHUNK)


@contextlib.contextmanager
def open_daemon_image(
    reference: str, *, platform: str | None = None, image_id: str | None = None, all_platforms: bool = False
) -> Iterator[list[Image]]:
    """Export the image by ID (given, or resolved from ``reference``) and read it; with
    ``all_platforms``, every platform of an image index (what the containerd store exports)."""
    client = engine_client()
    image_id = image_id or resolve_image_id(client, reference)
    with tempfile.TemporaryDirectory(prefix="hubguard-export-") as tmp:
        archive = os.path.join(tmp, "image.tar")
        try:
            with open(archive, "wb") as out:
                for chunk in _export(client, image_id):
                    out.write(chunk)
        except (docker.errors.APIError, requests.exceptions.RequestException) as exc:
            raise ScanIncomplete(f"exporting {reference} from the engine failed: {first_line(exc)}") from None
        with open_archive(archive, platform=platform, all_platforms=all_platforms) as images:
            for image in images:
                image.name = reference
            # One image is the engine's ID; the platforms of an index keep their own config
            # digests, so the cache never files one platform's scan under the whole index.
            if len(images) == 1:
                images[0].image_id = image_id
            yield images


def stream_daemon_image(
    client: docker.DockerClient,
    reference: str,
    image_id: str,
    scan_layer: Callable[[str, BinaryIO], None],
    *,
    platform: str | None = None,
    all_platforms: bool = False,
) -> list[Image]:
    """Export ``image_id`` and read the stream once: ``scan_layer(member, reader)`` for each
    layer as it passes, then the images the manifest describes, whose layers' ``blob.path``
    names the member that was scanned. Every layer's digest is checked against the config."""
    try:
        chunks = _export(client, image_id)
        with HashThread() as hashes:  # each member's digest, beside the read
            store = _StreamedStore(hashes)
            for member, data in TarReader(_ChunkReader(chunks)):  # type: ignore[arg-type]
                store.take(member, data, scan_layer)
    except (docker.errors.APIError, requests.exceptions.RequestException) as exc:
        raise ScanIncomplete(f"exporting {reference} from the engine failed: {first_line(exc)}") from None
    except (CorruptTar, HeaderTooLarge, OSError, EOFError) as exc:
        raise ScanIncomplete(f"the engine's export of {reference} is not a readable tar: {exc}") from None
    source = f"export of {reference}"
    if store.has("index.json"):
        images = images_from_index(store, source, platform=platform, all_platforms=all_platforms)
    elif store.has("manifest.json"):
        images = _legacy_images(store, source)  # type: ignore[arg-type]
    else:
        raise ScanIncomplete(f"the engine's export of {reference} has neither manifest.json nor index.json")
    for image in images:
        image.name = reference
        for layer in image.layers:
            store.verify(layer.blob.path, layer.ref.digest)
    # One image is the engine's ID; the platforms of an index keep their own config digests,
    # so the cache never files one platform's scan under the whole index.
    if len(images) == 1:
        images[0].image_id = image_id
    return images


class _ChunkReader:
    """The engine's export (an iterator of byte chunks) as a readable, unseekable stream."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = b""

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes: what is left of the current chunk, or the next one (whole, and
        not copied, when ``size`` covers it: the tar reader asks for a MiB at a time)."""
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return b""
            self._pending = chunk
        data, self._pending = self._pending[:size], self._pending[size:]
        return data


class _HashingReader(io.RawIOBase):
    """A tar member read once, hashed as it is read. ``seek(0)`` is allowed while still in the
    first bytes (the layer reader sniffs the compression, then starts over)."""

    HEAD = 512

    def __init__(self, raw: BinaryIO, hashes: HashThread) -> None:
        self._raw = raw
        self._hashes = hashes
        self.hasher = hashlib.sha256()
        self._head = b""
        self._replay = 0  # bytes of the head still to hand out again after a seek(0)
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def seek(self, position: int, whence: int = io.SEEK_SET) -> int:
        if position != 0 or whence != io.SEEK_SET or self._position > self.HEAD:
            raise io.UnsupportedOperation("a streamed layer can only go back to its start")
        self._replay, self._position = max(self._replay, self._position), 0
        return 0

    def tell(self) -> int:
        return self._position

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        replayed = b""
        if self._position < self._replay:
            end = self._replay if size < 0 else min(self._replay, self._position + size)
            replayed, self._position = self._head[self._position : end], end
            if size >= 0:
                return replayed
        data = self._raw.read(size)
        self._hashes.update(self.hasher, data)
        if self._position < self.HEAD:
            self._head += data[: self.HEAD - self._position]
        self._position += len(data)
        return replayed + data

    def drain(self) -> str:
        """Read what the scanner left (tar padding), and return the member's sha256 digest."""
        while self.read(1024 * 1024):
            pass
        self._hashes.wait()
        return "sha256:" + self.hasher.hexdigest()


class _StreamedStore:
    """What a passing ``docker save`` stream leaves behind: its small JSON documents, and each
    layer's member name, size and digest (the layer itself went to the scanner)."""

    def __init__(self, hashes: HashThread) -> None:
        self.hashes = hashes
        self.documents: dict[str, bytes] = {}
        self.layers: dict[str, tuple[int, str]] = {}  # every member -> (size, sha256 digest)
        self.links: dict[str, str] = {}  # a member that is a symlink to another (shared layers)

    def take(self, member: Member, data: MemberData | None, scan_layer) -> None:
        name = member.name.removeprefix("./")
        if member.issym() or member.islnk():
            target = os.path.normpath(os.path.join(os.path.dirname(name), member.linkname))
            self.links[name] = target if member.issym() else member.linkname.removeprefix("./")
            return
        if data is None:
            return
        hashing = _HashingReader(data, self.hashes)  # type: ignore[arg-type]
        head = hashing.read(262)
        hashing.seek(0)
        if name.endswith("/layer.tar") or _looks_like_layer(head):
            scan_layer(name, hashing)  # type: ignore[arg-type]
        elif member.size <= MAX_JSON_BYTES:  # manifests, indexes, configs (JSON), or an empty layer
            self.documents[name] = hashing.read()
        self.layers[name] = (member.size, hashing.drain())

    def _resolve(self, name: str) -> str:
        for _ in range(8):
            if name not in self.links:
                break
            name = self.links[name]
        return name

    def has(self, name: str) -> bool:
        return self._resolve(name) in self.layers

    def open(self, name: str) -> BinaryIO:
        return io.BytesIO(self.documents.get(self._resolve(name), b""))

    def size(self, name: str) -> int | None:
        return self.layers[self._resolve(name)][0]

    def ref(self, name: str) -> BlobRef:
        name = self._resolve(name)
        return BlobRef(name, 0, self.layers[name][0])

    def verify(self, name: str, diff_id: str) -> None:
        """The layer's bytes hash to its diff_id (uncompressed), or to its blob name (OCI)."""
        digest = self.layers[name][1]
        named = "sha256:" + name.rsplit("/", 1)[-1] if name.startswith("blobs/sha256/") else ""
        if digest not in (diff_id, named):
            raise ScanIncomplete(f"layer {name} of the engine's export does not match its digest {diff_id}")


class Engine:
    """An image in the Docker engine, by reference (a Source): resolved to its ID by one
    inspect (the cache's fast path), then streamed from the engine's export."""

    def claims(self, spec: str) -> bool:
        return True  # whatever no other source claims is a reference

    def identity(self, spec: str) -> str:
        return resolve_image_id(engine_client(), spec)

    def open(
        self, spec: str, *, platform: str | None, all_platforms: bool
    ) -> contextlib.AbstractContextManager[list[Image]]:
        return open_daemon_image(spec, platform=platform, all_platforms=all_platforms)

    def stream(self, spec: str, identity: str, *, platform: str | None, all_platforms: bool) -> ImageStream:
        client = engine_client()
        image_id = identity or resolve_image_id(client, spec)
        inspect = client.api.inspect_image(image_id)

        def read(scan_layer: Callable[[str, BinaryIO], None]) -> list[Image]:
            return stream_daemon_image(
                client, spec, image_id, scan_layer, platform=platform, all_platforms=all_platforms
            )

        return ImageStream(int(inspect.get("Size") or 0), read)

    def diff_ids(self, spec: str) -> list[str]:
        """Inspected, not exported."""
        try:
            attributes = engine_client().images.get(spec).attrs
        except (docker.errors.DockerException, InputError) as exc:
            raise InputError(f"{spec}: {str(exc).splitlines()[0]}") from None
        return list((attributes.get("RootFS") or {}).get("Layers") or [])


SOURCE = Engine()


def _looks_like_layer(head: bytes) -> bool:
    return head.startswith((GZIP_MAGIC, ZSTD_MAGIC)) or head[257:262] == b"ustar"
