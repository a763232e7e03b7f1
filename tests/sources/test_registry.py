"""The source registry: each spec goes to the one source that claims it, and each source says
how cheaply it can name an image (the cache's fast path) and list its layers (``--base``)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import docker
import pytest

from examples.save_archive import layer_tar
from hubguard.errors import InputError
from hubguard.owners.base import base_diff_ids
from hubguard.sources import archive, daemon, oci, open_images, source_for
from tests.images import write_docker_archive, write_oci_dir


@pytest.mark.parametrize(
    ("spec", "module"),
    [
        ("docker-archive:/tmp/app.tar", archive),
        ("oci:./layout", oci),
        ("myname/app:1", daemon),
        ("registry.example:5000/app@sha256:" + "a" * 64, daemon),
        ("app.tar", daemon),  # no prefix: a reference, never guessed to be a file
    ],
)
def test_each_spec_goes_to_the_source_that_claims_it(spec: str, module) -> None:
    assert source_for(spec) is module.SOURCE


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("docker-archive:", "docker-archive: needs a path, e.g. docker-archive:app.tar"),
        ("oci:", "oci: needs a directory, e.g. oci:./layout"),
    ],
)
def test_a_prefix_without_a_path_is_one_clear_error(spec: str, message: str) -> None:
    with pytest.raises(InputError) as raised, open_images(spec):
        pass
    assert str(raised.value) == message


def test_files_on_disk_have_no_identity_without_being_read(tmp_path: Path) -> None:
    """An archive's image ID is its config digest, inside the file: reading the archive (and
    checking its layers' digests) is the only way to trust a cached answer for it."""
    path = write_docker_archive(tmp_path / "a.tar", [layer_tar({"/etc/x": b"x"})])
    assert source_for(f"docker-archive:{path}").identity(f"docker-archive:{path}") == ""
    assert source_for(f"oci:{tmp_path}").identity(f"oci:{tmp_path}") == ""


def test_an_archive_lists_its_layers_for_a_base(tmp_path: Path) -> None:
    layers = [layer_tar({"/etc/a": b"a"}), layer_tar({"/etc/b": b"b"})]
    path = write_docker_archive(tmp_path / "base.tar", layers)
    expected = ["sha256:" + hashlib.sha256(layer).hexdigest() for layer in layers]
    assert base_diff_ids(f"docker-archive:{path}") == expected


def test_an_oci_layout_lists_its_layers_for_a_base(tmp_path: Path) -> None:
    save = write_docker_archive(tmp_path / "base.tar", [layer_tar({"/etc/a": b"a"})])
    layout = write_oci_dir(save, tmp_path / "layout")
    assert base_diff_ids(f"oci:{layout}") == [
        "sha256:" + hashlib.sha256(layer_tar({"/etc/a": b"a"})).hexdigest()
    ]


def test_a_base_archive_that_is_not_there_names_itself(tmp_path: Path) -> None:
    spec = f"docker-archive:{tmp_path / 'missing.tar'}"
    with pytest.raises(InputError, match=r"^base image docker-archive:.*missing\.tar"):
        base_diff_ids(spec)
    assert base_diff_ids(spec, required=False) == []  # named only by a label: no base


def test_the_engine_names_an_image_by_one_inspect(
    docker_client: docker.DockerClient, busybox_image: str
) -> None:
    engine = source_for(busybox_image)
    assert engine.identity(busybox_image) == docker_client.images.get(busybox_image).id
    assert engine.diff_ids(busybox_image) == docker_client.images.get(busybox_image).attrs["RootFS"]["Layers"]


def test_an_engine_base_that_is_not_there_names_itself(docker_client: docker.DockerClient) -> None:
    with pytest.raises(InputError, match=r"^base image hubguard-test/no-such-base:1: "):
        base_diff_ids("hubguard-test/no-such-base:1")
    assert base_diff_ids("hubguard-test/no-such-base:1", required=False) == []
