"""Quiet on a real-world image: a Debian-like rootfs plus a full Python installation.

    python examples/realworld_quality.py [--keep DIR]

No image can be pulled here, so the image is assembled from this machine as an OCI layout:

1. Debian: ``/usr/share/doc`` and every ``/etc`` conffile whose MD5 still equals what its
   Debian package shipped (so nothing local, nothing secret, ends up in it).
2. Python: ``sys.base_prefix`` (interpreter, stdlib and site-packages with botocore, awscli,
   cryptography, IPython, hypothesis …) at ``/usr/local``, as the official python images have it.
3. The app: a few files under ``/app`` with two fresh fake secrets.

It is scanned twice with the real CLI, by default and with ``--include-third-party``, and the
findings are counted by rule and by path prefix. The default scan must report nothing outside
``/app``; the exit status says whether it did (0) or not (1). Slow (minutes): not a test.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# Run from a checkout (``python examples/…``): the fakes come from the test suite's generator,
# tests/fakes.py, which the hubguard package does not ship.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.fakes import expand

APP_DIR = "/app"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar"


def pristine_conffiles() -> list[Path]:
    """/etc files exactly as their Debian package shipped them (MD5 from dpkg's database)."""
    listing = subprocess.run(
        ["dpkg-query", "-W", "-f=${Conffiles}\n"], capture_output=True, text=True, check=True
    ).stdout
    files = []
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) < 2 or not parts[0].startswith("/etc/") or "obsolete" in parts[2:]:
            continue
        path = Path(parts[0])
        try:
            shipped = path.is_file() and not path.is_symlink() and _md5(path) == parts[1]
        except OSError:
            continue
        if shipped:
            files.append(path)
    return sorted(set(files))


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def owned_by_root(member: tarfile.TarInfo) -> tarfile.TarInfo:
    member.uid = member.gid = 0
    member.uname = member.gname = "root"
    return member


def write_layer(blobs: Path, build: Callable[[tarfile.TarFile], None]) -> tuple[str, int]:
    """Write a layer tar with ``build(tar)`` straight into the blob store; (digest, size)."""
    partial = blobs / "partial.tar"
    with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
        build(tar)
    digest = hashlib.sha256()
    with partial.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    hexdigest = digest.hexdigest()
    size = partial.stat().st_size
    partial.rename(blobs / hexdigest)
    return f"sha256:{hexdigest}", size


def debian_layer(tar: tarfile.TarFile) -> None:
    tar.add("/usr/share/doc", arcname="usr/share/doc", filter=owned_by_root)
    for path in pristine_conffiles():
        tar.add(path, arcname=str(path).lstrip("/"), filter=owned_by_root)


def python_layer(tar: tarfile.TarFile) -> None:
    for entry in sorted(Path(sys.base_prefix).iterdir()):
        tar.add(entry, arcname=f"usr/local/{entry.name}", filter=owned_by_root)


def app_layer(tar: tarfile.TarFile) -> None:
    seed = os.urandom(8).hex()
    files = {
        "app/main.py": "from app.settings import DATABASE_URL\n\nprint(DATABASE_URL)\n",
        "app/requirements.txt": "boto3\nrequests\n",
        "app/settings.py": f'import os\n\nAWS_ACCESS_KEY_ID = "{expand("AKIA{upalnum:16}", seed)}"\n'
        'DATABASE_URL = os.environ["DATABASE_URL"]\n',
        "app/.env": f"API_TOKEN={expand('{alnum:32}', seed)}\n",
    }
    for name, text in files.items():
        data = text.encode()
        info = owned_by_root(tarfile.TarInfo(name))
        info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
        tar.addfile(info, io.BytesIO(data))


def write_layout(root: Path) -> None:
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    steps = [
        ("ADD debian rootfs (/etc conffiles, /usr/share/doc)", debian_layer),
        (f"COPY python {sys.version.split()[0]} to /usr/local", python_layer),
        ("COPY . /app", app_layer),
    ]
    layers = []
    for step, build in steps:
        print(f"writing layer: {step} …", file=sys.stderr)
        digest, size = write_layer(blobs, build)
        layers.append({"mediaType": LAYER_TYPE, "digest": digest, "size": size})
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"], "WorkingDir": APP_DIR},
        "rootfs": {"type": "layers", "diff_ids": [layer["digest"] for layer in layers]},
        "history": [{"created_by": step} for step, _ in steps],
    }
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": store_json(blobs, config, "application/vnd.oci.image.config.v1+json"),
        "layers": layers,
    }
    descriptor = store_json(blobs, manifest, manifest["mediaType"])
    descriptor["annotations"] = {"org.opencontainers.image.ref.name": "realworld:python"}
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [descriptor]}))
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')


def store_json(blobs: Path, document: dict, media_type: str) -> dict:
    data = json.dumps(document).encode()
    digest = hashlib.sha256(data).hexdigest()
    (blobs / digest).write_bytes(data)
    return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}


def scan(layout: Path, *extra: str) -> tuple[dict, float]:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "hubguard", "scan", f"oci:{layout}", "--format", "json", "--no-cache", *extra],
        capture_output=True,
        text=True,
    )
    if result.returncode not in (0, 1):
        sys.exit(f"scan failed ({result.returncode}): {result.stderr.strip()}")
    return json.loads(result.stdout), time.monotonic() - started


def prefix(path: str, depth: int = 4) -> str:
    if not path.startswith("/"):
        return path.split("[")[0]
    return "/".join(path.split("!", 1)[0].split("/")[: depth + 1])


def summarise(label: str, report: dict, seconds: float) -> int:
    """Print counts by rule and path prefix; return how many findings lie outside the app."""
    findings = report["findings"]
    outside = [f for f in findings if not f["path"].startswith(APP_DIR + "/")]
    summary = report["summary"]
    print(f"\n== {label}: {len(findings)} findings in {seconds:.0f}s ==")
    print(f"   third-party files skipped: {summary['third_party_skipped']}, notes: {len(summary['notes'])}")
    print(
        f"   outside {APP_DIR}: {len(outside)} ({sum(f['third_party'] for f in outside)} marked third_party)"
    )
    for title, key in (("by rule", lambda f: f["rule_id"]), ("by path prefix", lambda f: prefix(f["path"]))):
        print(f"   {title}:")
        for name, count in collections.Counter(map(key, findings)).most_common(25):
            print(f"     {count:5}  {name}")
    sys.stdout.flush()  # the next scan takes minutes: show this one now
    return len(outside)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="write the OCI layout here and keep it")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="hubguard-realworld-"))
    layout = args.keep or workdir / "layout"
    try:
        if not (layout / "index.json").is_file():
            write_layout(layout)
        outside = summarise("default scan", *scan(layout))
        summarise("--include-third-party", *scan(layout, "--include-third-party"))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\ndefault scan, findings outside {APP_DIR}: {outside} ({'OK' if outside == 0 else 'NOT QUIET'})")
    return 0 if outside == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
