"""Detection quality: every planted secret found where and as it ships, no decoy reported.

The image (``examples/quality_report.py``) plants fresh fakes in files, deleted, overwritten
and opaque-whiteout files, archive members, a minified bundle, a binary, credential files,
ENV, LABEL and a build argument, beside placeholders, documented fakes, public keys,
checksums and third-party test fixtures that package records list.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from examples.quality_report import QualityImage, Score, score, write_quality_archive
from hubguard.model import ScanReport
from hubguard.scan import Scanner, ScanOptions

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
