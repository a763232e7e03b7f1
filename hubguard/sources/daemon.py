"""Images in the local Docker engine, resolved to an ID first and exported by that ID.

The export is streamed to a private temporary file (never held in memory) and then read
like any ``docker save`` archive, so the engine and archives share one reader.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator

import docker
import docker.errors
import requests.exceptions

from hubguard.errors import InputError, ScanIncomplete
from hubguard.sources.archive import open_archive
from hubguard.sources.image import Image

EXPORT_CHUNK = 1024 * 1024


def engine_client() -> docker.DockerClient:
    """Connect like the docker CLI: DOCKER_HOST, else DOCKER_CONTEXT, else the current context."""
    from hubguard.docker_host import connect_engine

    return connect_engine()


def resolve_image_id(client: docker.DockerClient, reference: str) -> str:
    """The image ID a reference points at now; a push must ship exactly this ID."""
    try:
        return client.api.inspect_image(reference)["Id"]
    except docker.errors.ImageNotFound:
        raise InputError(f"no image {reference!r} in the Docker engine (build or pull it first)") from None
    except docker.errors.APIError as exc:
        raise InputError(f"{reference}: {exc.explanation or exc}") from None
    except requests.exceptions.RequestException as exc:
        raise InputError(f"cannot reach the Docker engine: {_first_line(exc)}") from None


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
                for chunk in client.api.get_image(image_id, chunk_size=EXPORT_CHUNK):
                    out.write(chunk)
        except (docker.errors.APIError, requests.exceptions.RequestException) as exc:
            raise ScanIncomplete(
                f"exporting {reference} from the engine failed: {_first_line(exc)}"
            ) from None
        with open_archive(archive, platform=platform, all_platforms=all_platforms) as images:
            for image in images:
                image.name = reference
            # One image is the engine's ID; the platforms of an index keep their own config
            # digests, so the cache never files one platform's scan under the whole index.
            if len(images) == 1:
                images[0].image_id = image_id
            yield images


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
