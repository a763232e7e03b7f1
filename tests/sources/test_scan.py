"""Scan real images built by the real engine, read from every source: daemon, docker-archive,
OCI layout directory and OCI-in-tar. Every placement a push would ship must be reported."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from examples.save_archive import layer_tar, write_tar
from hubguard.model import hash_secret
from hubguard.scan import Scanner, ScanOptions
from tests.images import write_docker_archive, write_oci_dir, write_oci_tar

DOCKER_CLI = "/usr/bin/docker"


@pytest.fixture(scope="module")
def leaky_archive_path(tmp_path_factory) -> Path:
    """The bundled example image, with its planted values kept beside it for leak checks."""
    from examples.leaky_image import write_archive

    path = tmp_path_factory.mktemp("leaky") / "leaky.tar"
    planted = write_archive(path, keep_values=True)
    Path(f"{path}.planted.json").write_text(
        json.dumps([{k: v for k, v in p.items() if k != "value"} for p in planted])
    )
    Path(f"{path}.values").write_text(json.dumps([p["value"] for p in planted]))
    return path


def pem_block(kind: str, fake_token) -> str:
    body = fake_token("{b64:64}\n" * 12).strip()
    return f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----"


def zip_with(name: str, text: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, text)
    return out.getvalue()


@pytest.fixture
def leaky(build_image, busybox_image, fake_token, request):
    """An image with a secret in each placement, and where each must be reported."""
    t = {
        "deleted": fake_token("SG.{b64url:22}.{b64url:43}"),
        "overwritten": fake_token("sk-proj-{alnum:48}"),
        "env": fake_token("ghp_{alnum:36}"),
        "label": fake_token("glpat-{alnum:20}"),
        "build_arg": fake_token("npm_{alnum:36}"),
        "zipped": fake_token("xoxb-{digit:12}-{digit:13}-{alnum:24}"),
        "minified": fake_token("ghp_{alnum:36}"),
        "key": pem_block("RSA PRIVATE KEY", fake_token),
        "present": fake_token("AKIA{upalnum:16}"),
    }
    files = {
        "app/tmp/old.txt": f"sendgrid_key = {t['deleted']}\n",
        "app/config/prod.yaml": f"openai:\n  api_key: {t['overwritten']}\n",
        "clean/prod.yaml": "openai:\n  api_key: ${OPENAI_API_KEY}\n",
        "app/lib/bundle.jar": zip_with(
            "BOOT-INF/classes/application.properties", f"slack.token={t['zipped']}\n"
        ),
        "app/static/app.min.js": "var a=1;" * 12000 + f'const t="{t["minified"]}";' + "f();" * 5000,
        "app/keys/server.key": t["key"] + "\n",
        "app/settings.py": f'AWS_ACCESS_KEY_ID = "{t["present"]}"\n',
    }
    dockerfile = f"""FROM {busybox_image}
ARG DEPLOY_TOKEN
ENV GITHUB_TOKEN={t["env"]}
LABEL deploy.token={t["label"]}
COPY app/ /app/
RUN test -n "$DEPLOY_TOKEN" && rm /app/tmp/old.txt
COPY clean/prod.yaml /app/config/prod.yaml
"""
    image = build_image(dockerfile, files, buildargs={"DEPLOY_TOKEN": t["build_arg"]}, buildkit=request.param)
    expected = {
        "deleted": ("/app/tmp/old.txt", "deleted"),
        "overwritten": ("/app/config/prod.yaml", "overwritten"),
        "env": ("Config.Env", "present"),
        "label": ("Config.Labels", "present"),
        "build_arg": ("history[", "present"),
        "zipped": ("/app/lib/bundle.jar!BOOT-INF/classes/application.properties", "present"),
        "minified": ("/app/static/app.min.js", "present"),
        "key": ("/app/keys/server.key", "present"),
        "present": ("/app/settings.py", "present"),
    }
    return image, t, expected


def save(image_tag: str, dest: Path) -> Path:
    subprocess.run([DOCKER_CLI, "save", "-o", str(dest), image_tag], check=True)
    return dest


def assert_all_reported(report, tokens: dict, expected: dict) -> None:
    for name, (path, state) in expected.items():
        matches = [f for f in report.findings if f.hashed_secret == hash_secret(tokens[name])]
        assert matches, f"{name}: no finding with the planted secret's hash (found {len(report.findings)})"
        assert any(f.path.startswith(path) and f.state == state for f in matches), (
            f"{name}: expected at {path} ({state}); got {[(f.path, f.state) for f in matches]}"
        )
    assert report.complete, report.problems


@pytest.mark.engine
@pytest.mark.parametrize("leaky", [False, True], ids=["classic", "buildkit"], indirect=True)
def test_every_placement_is_reported_from_every_source(leaky, tmp_path):
    image, tokens, expected = leaky
    archive = save(image.tag, tmp_path / "image.tar")
    sources = {
        "daemon": image.tag,
        "docker-archive": f"docker-archive:{archive}",
        "oci-dir (zstd layers)": f"oci:{write_oci_dir(archive, tmp_path / 'layout', compression='zstd')}",
        "oci-in-tar (blobs first, plain layers)": "docker-archive:"
        + str(write_oci_tar(archive, tmp_path / "oci.tar", compression="plain")),
    }
    for label, spec in sources.items():
        report = Scanner(ScanOptions()).scan([spec])
        try:
            assert_all_reported(report, tokens, expected)
        except AssertionError as exc:
            raise AssertionError(f"source {label}: {exc}") from None


@pytest.mark.engine
@pytest.mark.parametrize("leaky", [False], ids=["classic"], indirect=True)
def test_findings_name_the_layer_that_added_and_the_layer_that_hid(leaky):
    image, tokens, _ = leaky
    report = Scanner(ScanOptions()).scan([image.tag])
    deleted = next(f for f in report.findings if f.hashed_secret == hash_secret(tokens["deleted"]))
    assert "COPY" in deleted.layer.created_by
    assert "rm /app/tmp/old.txt" in deleted.hidden_by.created_by
    assert deleted.hidden_by.index == deleted.layer.index + 1
    build_arg = next(f for f in report.findings if f.hashed_secret == hash_secret(tokens["build_arg"]))
    assert build_arg.source == "history" and build_arg.layer is None


@pytest.mark.engine
def test_opaque_whiteout_hides_the_lower_directory(docker_client, fake_token, tmp_path):
    """An engine-loaded image whose upper layer makes /opt/keys opaque: the key below is deleted."""
    key = pem_block("OPENSSH PRIVATE KEY", fake_token)

    def layer(entries: dict[str, bytes | None]) -> bytes:
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w") as tar:
            for name, data in entries.items():
                info = tarfile.TarInfo(name)
                if data is None:
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    tar.addfile(info)
                else:
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
        return out.getvalue()

    import hashlib

    layers = [
        layer({"opt": None, "opt/keys": None, "opt/keys/id_ed25519": (key + "\n").encode()}),
        layer({"opt/keys": None, "opt/keys/.wh..wh..opq": b"", "opt/keys/README": b"mounted at run time\n"}),
    ]
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(x).hexdigest() for x in layers]},
        "history": [
            {"created_by": "COPY keys /opt/keys"},
            {"created_by": "RUN rm -rf /opt/keys && mkdir /opt/keys"},
        ],
    }
    tag = "hubguard-test/opaque:1"
    archive = tmp_path / "opaque.tar"
    config_bytes = json.dumps(config).encode()
    members = {"config.json": config_bytes, "l0/layer.tar": layers[0], "l1/layer.tar": layers[1]}
    members["manifest.json"] = json.dumps(
        [{"Config": "config.json", "RepoTags": [tag], "Layers": ["l0/layer.tar", "l1/layer.tar"]}]
    ).encode()
    write_tar(archive, members)
    subprocess.run([DOCKER_CLI, "load", "-q", "-i", str(archive)], check=True, capture_output=True)
    try:
        report = Scanner(ScanOptions()).scan([tag])
    finally:
        docker_client.images.remove(tag, force=True)
    [finding] = [f for f in report.findings if f.hashed_secret == hash_secret(key)]
    assert (finding.path, finding.state) == ("/opt/keys/id_ed25519", "deleted")
    assert finding.hidden_by.index == 1
    assert not any(f.path == "/opt/keys/README" for f in report.findings)


@pytest.mark.engine
def test_multi_platform_index_picks_host_or_requested_platform(
    build_image, busybox_image, fake_token, tmp_path
):
    token = fake_token("ghp_{alnum:36}")
    image = build_image(f"FROM {busybox_image}\nRUN echo 'token={token}' > /etc/app.conf\n")
    archive = save(image.tag, tmp_path / "image.tar")
    layout = write_oci_dir(archive, tmp_path / "multi", platforms=("linux/arm64", "linux/amd64"))
    spec = f"oci:{layout}"
    default = Scanner(ScanOptions()).scan([spec])
    assert [t.platform for t in default.targets] == ["linux/amd64"]
    arm = Scanner(ScanOptions(platform="linux/arm64")).scan([spec])
    assert [t.platform for t in arm.targets] == ["linux/arm64"]
    every = Scanner(ScanOptions(all_platforms=True)).scan([spec])
    assert sorted(t.platform for t in every.targets) == ["linux/amd64", "linux/arm64"]
    in_layers = [f for f in every.findings if f.hashed_secret == hash_secret(token) and f.source == "layer"]
    assert len(in_layers) == 2  # once per platform


@pytest.mark.engine
def test_docker_config_json_auth_is_a_credential_file(build_image, busybox_image, fake_token):
    auth = base64.b64encode(f"me:{fake_token('{alnum:24}')}".encode()).decode()
    config = json.dumps({"auths": {"https://index.docker.io/v1/": {"auth": auth}}})
    image = build_image(
        f"FROM {busybox_image}\nCOPY config.json /root/.docker/config.json\n", {"config.json": config}
    )
    report = Scanner(ScanOptions()).scan([image.tag])
    assert any(f.path == "/root/.docker/config.json" for f in report.findings)


def test_cached_rescan_reports_the_same_and_skips_the_export(leaky_archive_path, monkeypatch):
    """Warm scans answer from the cache; a corrupt entry is ignored and rescanned."""
    first = Scanner(ScanOptions()).scan([f"docker-archive:{leaky_archive_path}"])
    second = Scanner(ScanOptions()).scan([f"docker-archive:{leaky_archive_path}"])
    assert [f.to_json() for f in first.findings] == [f.to_json() for f in second.findings]

    cache_dir = Path(os.environ["HUBGUARD_CACHE_DIR"])
    entries = list(cache_dir.rglob("*.json.gz"))
    assert entries
    for entry in entries:
        entry.write_bytes(b"not gzip at all")
    third = Scanner(ScanOptions()).scan([f"docker-archive:{leaky_archive_path}"])
    assert [f.to_json() for f in third.findings] == [f.to_json() for f in first.findings]


def test_cache_never_holds_a_secret_value(leaky_archive_path, tmp_path):
    import gzip

    planted = json.loads(Path(f"{leaky_archive_path}.planted.json").read_text())
    Scanner(ScanOptions(cache_dir=tmp_path / "c")).scan([f"docker-archive:{leaky_archive_path}"])
    text = "".join(gzip.decompress(p.read_bytes()).decode() for p in (tmp_path / "c").rglob("*.json.gz"))
    assert text
    values = json.loads(Path(f"{leaky_archive_path}.values").read_text())
    assert len(values) == len(planted)
    for value in values:
        assert value[-12:] not in text


@pytest.mark.engine
def test_warm_engine_scan_needs_no_export(build_image, busybox_image, fake_token, monkeypatch):
    token = fake_token("ghp_{alnum:36}")
    image = build_image(f"FROM {busybox_image}\nRUN echo 'token={token}' > /etc/app.conf\n")
    cold = Scanner(ScanOptions()).scan([image.tag])
    import docker.api.image

    def no_export(*args, **kwargs):
        raise AssertionError("a warm engine scan must not export the image")

    monkeypatch.setattr(docker.api.image.ImageApiMixin, "get_image", no_export)
    warm = Scanner(ScanOptions()).scan([image.tag])
    assert [f.to_json() for f in warm.findings] == [f.to_json() for f in cold.findings]
    assert any(f.hashed_secret == hash_secret(token) for f in warm.findings)


def test_capped_findings_say_so_in_json_and_still_fail(tmp_path, fake_token):
    from examples.leaky_image import layer_tar
    from hubguard.report.json_report import to_dict

    text = "".join(f'token{n} = "{fake_token("ghp_{alnum:36}" + str(n))[:40]}"\n' for n in range(45))
    archive = write_single_layer_archive(tmp_path, layer_tar({"app/tokens.py": text.encode()}))
    report = Scanner(ScanOptions(use_cache=False)).scan([f"docker-archive:{archive}"])
    data = to_dict(report)
    assert data["summary"]["findings"] == 21
    assert data["summary"]["capped"] == 1
    [summary] = [f for f in data["findings"] if f["more"]]
    assert summary["more"] == 25
    everything = Scanner(ScanOptions(use_cache=False, max_per_file=0)).scan([f"docker-archive:{archive}"])
    assert len(everything.findings) == 45


def write_single_layer_archive(tmp_path: Path, layer: bytes, diff_id: str = "") -> Path:
    """A legacy ``docker save`` archive with one layer (and its diff_id, unless given), written here."""
    import hashlib

    diff_id = diff_id or "sha256:" + hashlib.sha256(layer).hexdigest()
    config = json.dumps({"os": "linux", "architecture": "amd64", "rootfs": {"diff_ids": [diff_id]}}).encode()
    manifest = json.dumps(
        [{"Config": "config.json", "RepoTags": ["t:1"], "Layers": ["l/layer.tar"]}]
    ).encode()
    path = tmp_path / "one-layer.tar"
    with tarfile.open(path, "w") as tar:
        for name, data in (("l/layer.tar", layer), ("config.json", config), ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_one_big_layer_fans_out_to_the_workers_with_the_same_findings(leaky_archive_path, monkeypatch):
    """Detection inside a layer is spread over worker processes in batches of files; the
    report is the same as scanning inline."""
    import hubguard.scan as scan_module
    from hubguard.workers import Fanout

    spec = [f"docker-archive:{leaky_archive_path}"]
    inline = Scanner(ScanOptions(use_cache=False, jobs=1)).scan(spec)
    monkeypatch.setattr(scan_module, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr("hubguard.workers.BATCH_ITEMS", 3)
    to_workers = []
    real_flush = Fanout.flush

    def counted_flush(self):
        to_workers.append(self.pool is not None and bool(self.jobs))
        real_flush(self)

    monkeypatch.setattr(Fanout, "flush", counted_flush)
    fanned = Scanner(ScanOptions(use_cache=False, jobs=2)).scan(spec)
    key = lambda report: sorted((f.fingerprint, f.line, f.state) for f in report.findings)  # noqa: E731
    assert key(fanned) == key(inline) and key(inline)
    assert sum(to_workers) >= 2  # batches went to the forked workers


def test_engine_scan_streams_without_a_temporary_file(build_image, busybox_image, fake_token, monkeypatch):
    token = fake_token("ghp_{alnum:36}")
    image = build_image(f"FROM {busybox_image}\nRUN echo 'token={token}' > /etc/app.conf\n")
    import tempfile

    def no_temporary_files(*args, **kwargs):
        raise AssertionError("an engine scan must stream, not write the export to a file")

    monkeypatch.setattr(tempfile, "TemporaryDirectory", no_temporary_files)
    monkeypatch.setattr(tempfile, "mkstemp", no_temporary_files)
    report = Scanner(ScanOptions(use_cache=False)).scan([image.tag])
    assert report.complete
    assert any(f.hashed_secret == hash_secret(token) and f.path == "/etc/app.conf" for f in report.findings)


def test_a_streamed_layer_that_does_not_match_its_digest_is_an_incomplete_scan(tmp_path):
    """The export is hashed as it is read: a layer whose bytes differ from the config's diff_id
    (here an archive written with a wrong one) stops the scan."""
    from examples.leaky_image import layer_tar
    from hubguard.errors import ScanIncomplete
    from hubguard.sources.daemon import stream_daemon_image

    archive = write_single_layer_archive(tmp_path, layer_tar({"etc/x": b"x"}), diff_id="sha256:" + "0" * 64)
    data = archive.read_bytes()

    class Api:
        timeout = 60  # docker-py's default read timeout

        def get_image(self, image_id, chunk_size):
            return iter([data[i : i + 1000] for i in range(0, len(data), 1000)])

    class Client:
        api = Api()

    seen = []
    with pytest.raises(ScanIncomplete, match="does not match its digest"):
        stream_daemon_image(Client(), "t:1", "sha256:abc", lambda member, reader: seen.append(member))  # type: ignore[arg-type]
    assert seen == ["l/layer.tar"]


def pragma_file(fake_token) -> tuple[str, list[str], str]:
    """Two allowlisted secrets (same-line and next-line pragmas) and one that is not."""
    same, following, plain = (fake_token("ghp_{alnum:36}") for _ in range(3))
    text = (
        f'a = "{same}"  # pragma: allowlist secret\n'
        "# pragma: allowlist nextline secret\n"
        f'b = "{following}"\n'
        f'c = "{plain}"\n'
    )
    return text, [same, following], plain


def hubguard_json(*args: str) -> tuple[int, dict]:
    result = subprocess.run(
        [sys.executable, "-m", "hubguard", *args, "--format", "json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout)


def test_pragma_marked_secrets_in_an_image_are_suppressed_and_counted(tmp_path, fake_token):
    text, allowed, plain = pragma_file(fake_token)
    leaky = write_docker_archive(tmp_path / "leaky.tar", [layer_tar({"/app/settings.py": text.encode()})])
    code, report = hubguard_json("scan", f"docker-archive:{leaky}")
    assert code == 1
    assert [f["hashed_secret"] for f in report["findings"]] == [hash_secret(plain)]
    assert report["summary"]["suppressed"] == 2

    only_allowed = text.replace(f'c = "{plain}"\n', "")
    quiet = write_docker_archive(
        tmp_path / "quiet.tar", [layer_tar({"/app/settings.py": only_allowed.encode()})]
    )
    code, report = hubguard_json("scan", f"docker-archive:{quiet}")
    assert (code, report["findings"], report["summary"]["suppressed"]) == (0, [], 2)
    assert not {hash_secret(value) for value in allowed} & set(json.dumps(report).split('"'))
