"""The local Docker engine, asked the few things both the scan and the push need: a client
connected like the docker CLI, what a reference points at now, the local tags of a
repository and the digests a registry gave an image.

The scan exports an image *by ID* and the push checks that each tag still points at that ID,
so both ask ``resolve_image_id`` the same question, with the same one-line errors.
"""

from __future__ import annotations

import docker
import docker.errors
import requests.exceptions

from hubguard.errors import InputError, PushFailed
from hubguard.model import short_digest
from hubguard.push.reference import Reference, parse_reference


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
        raise InputError(f"cannot reach the Docker engine: {first_line(exc)}") from None


def local_tags(client: docker.DockerClient, repository: Reference) -> list[str]:
    """Tags of ``repository`` in the engine, compared by normalised name as docker does."""
    tags: set[str] = set()
    for image in client.api.images():
        for repo_tag in image.get("RepoTags") or ():
            try:
                reference = parse_reference(repo_tag)
            except InputError:  # "<none>:<none>" and other untagged placeholders
                continue
            if reference.name == repository.name and reference.tag is not None:
                tags.add(reference.tag)
    return sorted(tags)


def repo_digests(client: docker.DockerClient, image_id: str, repository: Reference) -> set[str]:
    """Digests the engine records for ``image_id`` in ``repository`` (set by a push)."""
    try:
        entries = client.api.inspect_image(image_id).get("RepoDigests") or []
    except docker.errors.DockerException as exc:
        raise PushFailed(f"cannot inspect the pushed image {short_digest(image_id)}: {exc}") from None
    digests = set()
    for entry in entries:
        try:
            reference = parse_reference(entry)
        except InputError:
            continue
        if reference.name == repository.name and reference.digest:
            digests.add(reference.digest)
    return digests


def first_line(exc: BaseException) -> str:
    """The first line of an engine error: docker-py's messages run on with the HTTP details."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
