"""The layer cache: a warm scan reads no layer, and anything that could change the answer
(the rule set, ``--include-third-party``, ``--exhaustive``) gets its own entries.

Each scenario scans twice with the same cache directory, changing one thing in between: a
cache whose key ignored that thing would answer the second scan with the first one's findings.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from examples.save_archive import layer_tar
from hubguard import cache
from hubguard.cache import Cache, default_cache_dir, hit_from_json, hit_to_json
from hubguard.detect.engine import Hit
from hubguard.detect.rules import pack_files
from hubguard.model import Severity
from hubguard.scan import Scanner, ScanOptions
from tests.images import write_docker_archive

THIRD_PARTY_FIXTURE = "/app/node_modules/acme-sdk/test/fixtures/auth.js"
NPM_LOCKFILE = "/app/node_modules/.package-lock.json"
NPM_LOCK = """{"packages": {"node_modules/acme-sdk": {"version": "1.0.0",
 "resolved": "https://registry.example/acme-sdk/-/acme-sdk-1.0.0.tgz", "integrity": "sha512-AAAA"}}}"""
LOW_GITHUB_PACK = """
[[rule]]
id = "github-pat-classic"
title = "GitHub classic token (our policy: {severity})"
severity = "{severity}"
regex = '''(ghp_[A-Za-z0-9]{{36}})'''
keywords = ["ghp_"]
"""


def hubguard(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hubguard", *args], capture_output=True, text=True, env=os.environ, timeout=300
    )


def scan_json(archive: Path, *args: str) -> dict:
    result = hubguard("scan", f"docker-archive:{archive}", "--format", "json", *args)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def entries(root: Path) -> set[Path]:
    return set(root.rglob("*.json.gz"))


@pytest.fixture
def image(tmp_path: Path, fake_token: Callable[[str], str]) -> tuple[Path, str]:
    """Two layers: an app token, and a third party's test fixture holding another token."""
    token = fake_token("ghp_{alnum:36}")
    fixture = fake_token("{alnum:12}7{alnum:8}")
    layers = [
        layer_tar({"/app/settings.py": f"# clone with {token}\n".encode()}),
        layer_tar(
            {
                THIRD_PARTY_FIXTURE: f'const password = "{fixture}";\n'.encode(),
                NPM_LOCKFILE: NPM_LOCK.encode(),  # acme-sdk came from the registry: a package's file
            }
        ),
    ]
    return write_docker_archive(tmp_path / "image.tar", layers), token


def test_warm_scan_reads_no_layer(image, monkeypatch):
    archive, _ = image
    spec = [f"docker-archive:{archive}"]
    cold = Scanner(ScanOptions()).scan(spec)
    assert cold.findings

    def no_layer_read(*args, **kwargs):
        raise AssertionError("a warm scan must answer from the cache, not read a layer")

    # The blob is still hashed (a cached answer is trusted only for the bytes it came from), but
    # no layer is parsed or scanned again.
    monkeypatch.setattr("hubguard.layer_reader.iter_layer_files", no_layer_read)
    warm = Scanner(ScanOptions()).scan(spec)
    assert [f.to_json() for f in warm.findings] == [f.to_json() for f in cold.findings]
    assert warm.third_party_skipped == cold.third_party_skipped

    # Without the cache the same patched reader is reached: the patch is not a no-op.
    with pytest.raises(AssertionError, match="warm scan"):
        Scanner(ScanOptions(use_cache=False)).scan(spec)


def test_warm_scan_builds_no_detector(image, monkeypatch):
    """Building the detector compiles the prefilter (half a second): a fully cached image needs none."""
    archive, _ = image
    spec = [f"docker-archive:{archive}"]
    cold = Scanner(ScanOptions()).scan(spec)

    def no_detector(*args, **kwargs):
        raise AssertionError("a detector was built")

    monkeypatch.setattr("hubguard.scan.Detector", no_detector)
    warm = Scanner(ScanOptions()).scan(spec)
    assert [f.to_json() for f in warm.findings] == [f.to_json() for f in cold.findings]
    with pytest.raises(AssertionError, match="detector was built"):
        Scanner(ScanOptions(use_cache=False)).scan(spec)


def test_a_user_rule_pack_is_part_of_the_key(image, tmp_path):
    archive, _ = image
    pack_dir = tmp_path / "rules"
    pack_dir.mkdir()
    pack = pack_dir / "policy.toml"

    def severities(*args: str) -> set[str]:
        findings = scan_json(archive, *args)["findings"]
        return {f["severity"] for f in findings if f["path"] == "/app/settings.py"}

    assert severities() == {"critical"}
    pack.write_text(LOW_GITHUB_PACK.format(severity="low"))
    assert severities("--rules", str(pack_dir)) == {"low"}
    assert severities() == {"critical"}  # and back: the default entries were not overwritten
    pack.write_text(LOW_GITHUB_PACK.format(severity="medium"))  # same directory, new bytes
    assert severities("--rules", str(pack_dir)) == {"medium"}


def test_include_third_party_is_part_of_the_key(image):
    archive, _ = image
    default = scan_json(archive)
    assert THIRD_PARTY_FIXTURE not in {f["path"] for f in default["findings"]}
    assert default["summary"]["owner_quieted"] == 1  # a package's file: only anchored rules apply

    full = scan_json(archive, "--include-third-party")
    [fixture] = [f for f in full["findings"] if f["path"] == THIRD_PARTY_FIXTURE]
    assert fixture["third_party"] is True
    assert full["summary"]["owner_quieted"] == 0

    again = scan_json(archive)
    assert again["findings"] == default["findings"]
    assert again["summary"]["owner_quieted"] == 1


def test_the_cli_passes_exhaustive_on_and_it_is_part_of_the_key(image, tmp_path):
    """The exhaustive scan answers the same, from entries of its own (so it really ran)."""
    archive, _ = image
    root = tmp_path / "cache"
    default = scan_json(archive, "--cache-dir", str(root))
    first = entries(root)
    assert len(first) == 3  # the image and its two layers
    exhaustive = scan_json(archive, "--cache-dir", str(root), "--exhaustive")
    assert exhaustive["findings"] == default["findings"]
    assert len(entries(root) - first) == 3
    scan_json(archive, "--cache-dir", str(root), "--exhaustive")
    assert len(entries(root)) == 6  # the second exhaustive scan was answered from its own entries


def test_no_cache_neither_reads_nor_writes(image, tmp_path):
    archive, _ = image
    root = tmp_path / "cache"
    scan_json(archive, "--cache-dir", str(root), "--no-cache")
    assert not entries(root)


def test_cache_dir_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("HUBGUARD_CACHE_DIR", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "explicit"
    monkeypatch.setenv("HUBGUARD_CACHE_DIR", "")
    assert default_cache_dir() == tmp_path / "xdg" / "hubguard"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "hubguard"


def test_an_entry_is_found_only_by_its_own_salt_kind_and_name(tmp_path):
    mine = Cache(tmp_path, "rules-a")
    mine.put("layer", "sha256:1", {"answer": 1})
    assert mine.get("layer", "sha256:1") == {"answer": 1}
    assert Cache(tmp_path, "rules-a").get("layer", "sha256:1") == {"answer": 1}  # survives the process
    assert Cache(tmp_path, "rules-b").get("layer", "sha256:1") is None
    assert mine.get("image", "sha256:1") is None
    assert mine.get("layer", "sha256:2") is None
    [entry] = entries(tmp_path)
    assert entry.parent.parent.name == "layer"
    assert entry.parent.name == entry.name[:2]
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".tmp-")]  # no temp file left


def test_a_foreign_entry_under_the_right_file_name_is_ignored(tmp_path):
    """Salt and name are checked inside the entry too: a copied or stale file is rescanned."""
    mine = Cache(tmp_path, "rules-a")
    mine.put("layer", "sha256:1", {"answer": 1})
    [entry] = entries(tmp_path)
    for foreign in (
        {"salt": "someone else", "name": "sha256:1", "data": {"answer": 2}},
        {"salt": mine.salt, "name": "sha256:other", "data": {"answer": 2}},
        ["not", "an", "object"],
    ):
        entry.write_bytes(gzip.compress(json.dumps(foreign).encode()))
        assert mine.get("layer", "sha256:1") is None
    entry.write_bytes(gzip.compress(b"{truncated"))
    assert mine.get("layer", "sha256:1") is None
    entry.write_bytes(gzip.compress(json.dumps({"salt": mine.salt, "name": "sha256:1"}).encode()))
    assert mine.get("layer", "sha256:1") is None  # no data: nothing to answer with


def test_an_unwritable_cache_costs_speed_not_correctness(tmp_path):
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    unwritable = Cache(blocked / "cache", "x")
    unwritable.put("layer", "sha256:1", {"answer": 1})
    assert unwritable.get("layer", "sha256:1") is None


def test_clear_removes_every_entry_and_counts_them(tmp_path):
    root = tmp_path / "cache"
    assert cache.clear(root) == 0
    store = Cache(root, "x")
    for number in range(3):
        store.put("layer", f"sha256:{number}", {})
    assert cache.clear(root) == 3
    assert not root.exists()


def test_cache_clear_command(image, tmp_path):
    archive, _ = image
    root = tmp_path / "cache"
    scan_json(archive, "--cache-dir", str(root))
    result = hubguard("cache", "clear", "--cache-dir", str(root))
    assert result.returncode == 0, result.stderr
    # 3 scan entries, 2 compiled prefilters, the derived triggers, each rule pack's parsed data
    assert f"removed {6 + len(pack_files())} cache entries from {root}" in result.stdout
    assert not entries(root)


def test_a_hit_survives_the_round_trip():
    hit = Hit(
        rule_id="rule",
        title="A rule",
        severity=Severity.HIGH,
        path="/app/x",
        line=7,
        hashed_secret="ab" * 20,
        redacted="ghp_…",
        pragma=True,
    )
    assert hit_from_json(json.loads(json.dumps(hit_to_json(hit)))) == hit


def test_a_warm_scan_keeps_states_and_hiding_layers(tmp_path, fake_token, monkeypatch):
    """States are decided from cached layer indexes: they must come back whole."""
    tokens = [fake_token("ghp_{alnum:36}") for _ in range(3)]
    layers = [
        layer_tar(
            {
                "/app/old.txt": f"token = {tokens[0]}\n".encode(),
                "/app/conf.yaml": f"token: {tokens[1]}\n".encode(),
                "/app/keys/id.txt": f"token = {tokens[2]}\n".encode(),
            }
        ),
        layer_tar({"/app/.wh.old.txt": b"", "/app/conf.yaml": b"token: ${TOKEN}\n"}),
        layer_tar({"/app/keys/.wh..wh..opq": b""}),
    ]
    spec = [f"docker-archive:{write_docker_archive(tmp_path / 'hidden.tar', layers)}"]
    cold = Scanner(ScanOptions()).scan(spec)
    monkeypatch.setattr("hubguard.layer_reader.iter_layer_files", None)  # any layer scan fails
    warm = Scanner(ScanOptions()).scan(spec)
    states = {(f.path, f.state, f.hidden_by.index) for f in warm.findings}
    assert states == {
        ("/app/old.txt", "deleted", 1),
        ("/app/conf.yaml", "overwritten", 1),
        ("/app/keys/id.txt", "deleted", 2),
    }
    assert [f.to_json() for f in warm.findings] == [f.to_json() for f in cold.findings]


def test_entries_sharing_a_directory_are_all_kept(tmp_path):
    """Entries fan out over 256 directories: 60 keys share some, and each must be written."""
    store = Cache(tmp_path, "x")
    for number in range(60):
        store.put("layer", f"sha256:{number}", {"n": number})
    assert len({entry.parent for entry in entries(tmp_path)}) < 60
    assert all(store.get("layer", f"sha256:{number}") == {"n": number} for number in range(60))


def test_an_entry_is_written_beside_its_final_place(tmp_path, monkeypatch):
    """The temporary file is renamed into place, so it must be on the same filesystem."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-such-temp-dir"))
    store = Cache(tmp_path / "cache", "x")
    store.put("layer", "sha256:1", {"answer": 1})
    assert store.get("layer", "sha256:1") == {"answer": 1}


def test_entries_carry_no_timestamp(tmp_path):
    """Byte-identical for the same answer, so a CI cache of them does not churn."""
    Cache(tmp_path, "x").put("layer", "sha256:1", {"answer": 1})
    [entry] = entries(tmp_path)
    assert entry.read_bytes()[4:8] == bytes(4)  # gzip MTIME
