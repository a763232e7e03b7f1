"""Detection quality: every planted secret found where and as it ships, no decoy reported.

The image (``examples/quality_report.py``) plants fresh fakes in files, deleted, overwritten
and opaque-whiteout files, archive members, a minified bundle, a binary, credential files,
ENV, LABEL and a build argument, beside placeholders, documented fakes, public keys,
checksums and third-party test fixtures that package records list.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from examples.quality_report import QualityImage, Score, score, write_quality_archive, zip_bytes
from examples.save_archive import layer_tar
from hubguard.model import ScanReport, hash_secret
from hubguard.scan import Scanner, ScanOptions
from tests.images import write_docker_archive

THIRD_PARTY_FIXTURES = {
    "/usr/local/lib/python3.11/site-packages/botocore/tests/unit/test_signers.py",
    "/app/node_modules/octokit/test/fixtures/auth.js",
    "/usr/share/doc/libssl3/examples/server.key",
}


@pytest.fixture(scope="module")
def quality_image(tmp_path_factory) -> tuple[Path, QualityImage]:
    archive = tmp_path_factory.mktemp("quality") / "quality.tar"
    return archive, write_quality_archive(archive)


def scan(archive: Path, **options) -> ScanReport:
    return Scanner(ScanOptions(use_cache=False, **options)).scan([f"docker-archive:{archive}"])


def describe(result: Score) -> str:
    lines = [f"{label}: {count}" for label, count in result.rows()]
    lines += [f"missed {p.placement} at {p.path} ({p.state})" for p in result.missed]
    lines += [f"false positive {f.rule_id} at {f.path}:{f.line}" for f in result.false_positives]
    return "\n".join(lines)


def test_the_image_plants_enough_secrets_in_every_placement(quality_image):
    _, image = quality_image
    assert len(image.plants) >= 25
    assert {plant.state for plant in image.plants} == {"present", "deleted", "overwritten"}
    paths = {plant.path for plant in image.plants}
    assert {"Config.Env", "Config.Labels", "history[4]"} <= paths
    assert {"/app/keys/server.key", "/app/bin/server", "/app/static/app.min.js"} <= paths
    assert sum("!" in path for path in paths) >= 4  # zip, jar, gz and tar.gz members
    assert sum(plant.whole_file for plant in image.plants) >= 13  # the credential files


@pytest.mark.parametrize("exhaustive", [False, True], ids=["prefilter", "exhaustive"])
def test_every_planted_secret_found_and_no_decoy_reported(quality_image, exhaustive):
    archive, image = quality_image
    result = score(scan(archive, exhaustive=exhaustive), image)
    print(describe(result))
    assert not result.missed, describe(result)
    assert not result.false_positives, describe(result)
    assert not result.decoys_reported


def test_recorded_third_party_fixtures_are_quieted_unless_asked_for(quality_image):
    archive, image = quality_image
    default = scan(archive)
    assert default.owner_quieted >= len(THIRD_PARTY_FIXTURES)
    assert not {f.path for f in default.findings} & THIRD_PARTY_FIXTURES

    full = scan(archive, include_third_party=True)
    result = score(full, image)
    assert not result.missed
    assert {f.path for f in result.false_positives} == THIRD_PARTY_FIXTURES
    assert {f.owner.kind for f in result.false_positives} == {"distro", "package"}  # type: ignore[union-attr]
    assert all(f.third_party for f in result.false_positives)
    assert not any(f.third_party for f in full.findings if f not in result.false_positives)


def test_hidden_files_name_the_layer_that_hid_them(quality_image):
    """``hidden_by`` is exactly the layer whose step deleted or replaced the file."""
    archive, _ = quality_image
    report = scan(archive)
    hiders = {
        (f.path, f.state, f.hidden_by.index, f.hidden_by.created_by) for f in report.findings if f.hidden_by
    }
    assert hiders == {
        ("/app/tmp/old_secret.txt", "deleted", 2, "RUN /bin/sh -c rm /app/tmp/old_secret.txt # buildkit"),
        ("/app/config/prod.yaml", "overwritten", 3, next(t.layers[3].created_by for t in report.targets)),
        (
            "/app/keys/server.key",
            "deleted",
            4,
            "RUN /bin/sh -c rm -rf /app/keys && mkdir /app/keys # buildkit",
        ),
    }
    assert all(f.hidden_by is None for f in report.findings if f.state == "present")


@pytest.fixture
def hidden_archives(tmp_path, fake_token) -> tuple[Path, dict[str, str]]:
    """Archives (and a plain file) that later layers delete, overwrite and then hide again.

    layer 0 adds them; 1 deletes the jar; 2 overwrites the tar.gz and deletes the note;
    3 deletes all of them again (whiteouts, an opaque directory), so only the *first*
    hiding layer may be named; the zip stays present throughout.
    """
    tokens = {name: fake_token("ghp_{alnum:36}") for name in ("jar", "tgz", "zip", "note")}
    layers = [
        layer_tar(
            {
                "/app/lib/service.jar": zip_bytes({"conf/app.properties": f"token={tokens['jar']}\n"}),
                "/app/conf/bundle.tar.gz": gzip.compress(
                    layer_tar({"config/db.ini": f"[db]\ntoken = {tokens['tgz']}\n".encode()}), mtime=0
                ),
                "/app/dist/release.zip": zip_bytes({"deploy/mail.conf": f"token = {tokens['zip']}\n"}),
                "/app/tmp/note.txt": f"token = {tokens['note']}\n".encode(),
            }
        ),
        layer_tar({"/app/lib/.wh.service.jar": b""}),
        layer_tar({"/app/conf/bundle.tar.gz": b"no longer an archive\n", "/app/tmp/.wh.note.txt": b""}),
        layer_tar({"/app/conf/.wh.bundle.tar.gz": b"", "/app/lib/.wh..wh..opq": b"", "/app/.wh.tmp": b""}),
    ]
    return write_docker_archive(tmp_path / "hidden.tar", layers), tokens


def test_members_of_deleted_and_overwritten_archives_are_hidden_by_the_first_hiding_layer(hidden_archives):
    archive, tokens = hidden_archives
    report = scan(archive)
    assert report.complete, report.problems
    layers = report.targets[0].layers
    found = {
        name: [
            (f.path, f.state, f.layer.index, f.hidden_by)
            for f in report.findings
            if f.hashed_secret == hash_secret(token)
        ]
        for name, token in tokens.items()
    }
    assert found == {
        "jar": [("/app/lib/service.jar!conf/app.properties", "deleted", 0, layers[1])],
        "tgz": [("/app/conf/bundle.tar.gz!config/db.ini", "overwritten", 0, layers[2])],
        "zip": [("/app/dist/release.zip!deploy/mail.conf", "present", 0, None)],
        "note": [("/app/tmp/note.txt", "deleted", 0, layers[2])],
    }
    assert [ref.created_by for ref in layers] == [f"step {number}" for number in range(4)]


def test_lines_only_a_detect_secrets_plugin_catches_are_found_by_default(tmp_path, fake_token):
    """Keyword assignments no token rule knows: the prefilter must still wake the plugin."""
    values = {
        "/app/settings.py": ('db_pass = "{}"\n', fake_token("{alnum:20}")),
        "/app/config.yaml": ('client_key: "{}"\n', fake_token("{alnum:24}")),
    }
    layer = layer_tar({path: line.format(value).encode() for path, (line, value) in values.items()})
    archive = write_docker_archive(tmp_path / "plugin.tar", [layer])
    for exhaustive in (False, True):
        report = scan(archive, exhaustive=exhaustive)
        assert {(f.path, f.hashed_secret) for f in report.findings} == {
            (path, hash_secret(value)) for path, (_, value) in values.items()
        }, exhaustive
