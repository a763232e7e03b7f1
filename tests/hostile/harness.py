"""Build hostile inputs and run the real CLI on them, checking what every case must hold.

Every run is a subprocess with its own HOME, TMPDIR and cache directory under the test's temp
dir, a time bound (killed when over) and a memory bound (peak RSS from ``wait4``).

The peak is taken by a small launcher between pytest and hubguard: Linux gives an exec'd
process the memory high-water mark of the process it was spawned from, so a child started
straight from pytest would report pytest's own peak (hundreds of MB after earlier tests).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import secrets
import signal
import subprocess
import sys
import tarfile
import threading
from dataclasses import dataclass
from pathlib import Path

from tests.fakes import expand

MEMORY_LIMIT_MB = 512
TIMEOUT = 120  # seconds: a hang bound, not a speed assertion
DOCUMENTED_EXIT_CODES = (0, 1, 2, 3)
# Runs argv[2:], writes its peak RSS in KiB to argv[1] and leaves with its exit status.
LAUNCHER = """
import os, signal, sys
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as report:
    report.write(str(usage.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
if code < 0:  # die of the same signal (its default action: Python turns SIGINT into exit 1)
    signal.signal(-code, signal.SIG_DFL)
    os.kill(os.getpid(), -code)
sys.exit(code)
"""


def token(template: str = "ghp_{alnum:36}") -> str:
    """A fake secret made now (nothing secret-looking is committed)."""
    return expand(template, seed=secrets.token_hex(8))


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    peak_mb: float

    @property
    def text(self) -> str:
        return self.stdout + self.stderr


def run_cli(tmp: Path, *args: str, cwd: Path | None = None, timeout: float = TIMEOUT) -> Run:
    """``hubguard ARGS`` in a subprocess confined to ``tmp`` (home, temp dir, cache)."""
    home, scratch, cache = tmp / "home", tmp / "scratch", tmp / "cache"
    for directory in (home, scratch, cache):
        directory.mkdir(exist_ok=True)
    env = {
        key: value
        for key, value in os.environ.items()
        if key in ("PATH", "LANG", "LC_ALL", "DOCKER_HOST", "PYTHONPATH")
    }
    env.update(HOME=str(home), TMPDIR=str(scratch), HUBGUARD_CACHE_DIR=str(cache), XDG_CONFIG_HOME=str(home))
    argv = [sys.executable, "-m", "hubguard", *args]
    return run_measured(argv, tmp, cwd=cwd or tmp, env=env, timeout=timeout)


def run_measured(
    argv: list[str], tmp: Path, *, cwd: Path, env: dict[str, str], timeout: float = TIMEOUT
) -> Run:
    """Run ``argv`` (a program path first) with its own peak RSS; its output is kept in ``tmp``."""
    out_path, err_path, peak_path = tmp / "run.stdout", tmp / "run.stderr", tmp / "run.peak"
    peak_path.unlink(missing_ok=True)
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, str(peak_path), *argv],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
        timer = threading.Timer(timeout, os.killpg, (process.pid, signal.SIGKILL))
        timer.start()
        try:
            process.wait()
        finally:
            timer.cancel()
    assert process.returncode != -signal.SIGKILL, f"{' '.join(argv[1:])} ran over {timeout} s"
    return Run(
        process.returncode,
        out_path.read_bytes().decode("utf-8", "replace"),
        err_path.read_bytes().decode("utf-8", "replace"),
        int(peak_path.read_text()) / 1024,
    )


def check(
    run: Run, tmp: Path, planted: list[str] = (), *, codes: tuple[int, ...] = DOCUMENTED_EXIT_CODES
) -> None:
    """What every hostile case must hold, whatever the input."""
    assert run.code in codes, (run.code, run.stderr)
    assert "internal error" not in run.stderr and "Traceback" not in run.stderr, run.stderr
    assert run.peak_mb < MEMORY_LIMIT_MB, f"peak RSS {run.peak_mb:.0f} MB"
    if run.code == 2:
        assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    for value in planted:
        assert value not in run.text, "a planted secret was printed"
        for where in written_files(tmp):
            assert value.encode() not in where, "a planted secret was written to the cache or a report"


def written_files(tmp: Path) -> list[bytes]:
    """Everything hubguard may have written: cache entries (ungzipped), reports, scratch."""
    contents = []
    for root in (tmp / "cache", tmp / "scratch", tmp / "home", tmp / "reports"):
        if not root.exists():
            continue
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes()
                if data.startswith(b"\x1f\x8b"):
                    data = gzip.decompress(data)
                contents.append(data)
    return contents


def reported(run: Run, value: str) -> bool:
    """Is the secret ``value`` among the JSON report's findings (by its hash)?"""
    digest = hashlib.sha1(value.encode()).hexdigest()
    return digest in run.stdout


def must_report_or_fail(run: Run, value: str) -> None:
    assert run.code == 3 or (run.code == 1 and reported(run, value)), (run.code, run.stderr)


# --- layers and archives ------------------------------------------------------------------------


def layer(files: dict[str, bytes | None], *, extra: list[tarfile.TarInfo] = ()) -> bytes:
    """An uncompressed layer tar: path -> bytes, or None for a directory; ``extra`` members after."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.mtime = 1700000000
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        for info in extra:
            tar.addfile(info)
    return out.getvalue()


def diff_id(data: bytes) -> str:
    """The sha256 of the uncompressed tar, as a config lists it."""
    if data.startswith(b"\x1f\x8b"):
        data = gzip.decompress(data)
    return "sha256:" + hashlib.sha256(data).hexdigest()


def config_for(layers: list[bytes], env: list[str] = (), diff_ids: list[str] | None = None) -> dict:
    return {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": list(env)},
        "rootfs": {"type": "layers", "diff_ids": diff_ids or [diff_id(data) for data in layers]},
        "history": [{"created_by": f"step {i}"} for i in range(len(layers))],
    }


def tar_members(path: Path, members: list[tuple[str, bytes]]) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def legacy_archive(
    path: Path,
    layers: list[bytes],
    *,
    config: dict | None = None,
    config_name: str = "",
    manifest: object = None,
) -> Path:
    """A legacy ``docker save`` archive: manifest.json, a config, ``l<i>/layer.tar``."""
    config_bytes = json.dumps(config or config_for(layers)).encode()
    config_name = config_name or hashlib.sha256(config_bytes).hexdigest() + ".json"
    names = [f"l{i}/layer.tar" for i in range(len(layers))]
    if manifest is None:
        manifest = [{"Config": config_name, "RepoTags": ["hostile/test:1"], "Layers": names}]
    members = [(config_name, config_bytes), *zip(names, layers, strict=True)]
    members.append(("manifest.json", json.dumps(manifest).encode()))
    return tar_members(path, members)


def oci_layout(
    root: Path, layers: list[bytes], *, config: dict | None = None, swap: dict | None = None
) -> Path:
    """An OCI layout directory. ``swap`` maps a layer index to bytes stored under its digest instead."""
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(data: bytes) -> dict:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return {"digest": f"sha256:{digest}", "size": len(data)}

    layer_descs = [
        {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **put(data)} for data in layers
    ]
    for position, data in (swap or {}).items():
        (blobs / layer_descs[position]["digest"].split(":")[1]).write_bytes(data)
    config_desc = {"mediaType": "application/vnd.oci.image.config.v1+json"}
    config_desc.update(put(json.dumps(config or config_for(layers)).encode()))
    manifest = {"schemaVersion": 2, "config": config_desc, "layers": layer_descs}
    manifest_desc = {"mediaType": "application/vnd.oci.image.manifest.v1+json"}
    manifest_desc.update(put(json.dumps(manifest).encode()))
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [manifest_desc]}))
    return root
