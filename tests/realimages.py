"""Real images made from real package repositories, built once and cached between runs.

A debootstrap ``--variant=minbase`` bookworm rootfs plus ``apt-get install`` in a chroot is the
*base* image; ``pip install`` and ``npm install`` in the same chroot give the *stack*'s app
layer, added on top with ``docker build`` (``ADD app.tar /``). Mirror and registries are read
from this machine's own configuration at run time (apt sources; pip and npm use their own
config), so no host name is written here.

The build takes minutes, so its tarballs are cached under ``$HUBGUARD_TEST_CACHE`` (else
``~/.cache/hubguard-test``) in a directory named by the recipe's hash: change the recipe and
a new one is built. With an empty cache everything is built from scratch. Run
``python -m tests.realimages`` to build (or check) the cache outside pytest.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

RECIPE = {
    "build": 1,
    "suite": "bookworm",
    "variant": "minbase",
    "apt": [
        "python3", "python3-pip", "nodejs", "npm", "openjdk-17-jre-headless", "ruby", "php-cli",
        "openssl", "ca-certificates", "git", "curl", "openssh-server",
    ],
    "pip": [
        "botocore", "boto3", "cryptography", "paramiko", "requests", "django", "flask", "sqlalchemy",
        "pyjwt", "stripe", "pytest", "hypothesis",
    ],
    "npm": ["@aws-sdk/client-s3", "jsonwebtoken", "stripe", "@octokit/rest", "express"],
}  # fmt: skip
APP_DIR = "/srv/app"  # where the npm project lives in the image
APT_OPTIONS = ["-o", "Acquire::Check-Valid-Until=false", "-o", "Acquire::Retries=3"]
STEP_TIMEOUT = 1800
HOST_TRUST_STORE = "/etc/ssl/certs/ca-certificates.crt"  # what pip and npm trust on this machine


def recipe_key() -> str:
    return hashlib.sha256(json.dumps(RECIPE, sort_keys=True).encode()).hexdigest()[:16]


def cache_root() -> Path:
    configured = os.environ.get("HUBGUARD_TEST_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "hubguard-test"


def debian_mirror() -> str:
    """The first Debian archive URL this machine's apt uses (deb822 ``URIs:`` or one-line ``deb``)."""
    sources = sorted(Path("/etc/apt/sources.list.d").glob("*.sources"))
    sources += [*sorted(Path("/etc/apt/sources.list.d").glob("*.list")), Path("/etc/apt/sources.list")]
    for source in sources:
        with contextlib.suppress(OSError):
            for line in source.read_text().splitlines():
                match = re.match(r"\s*(?:URIs:\s*|deb\s+(?:\[[^]]*\]\s+)?)(\S+)", line)
                if match and "security" not in match.group(1):
                    return match.group(1).rstrip("/")
    raise RuntimeError("no Debian mirror in /etc/apt/sources.list(.d): cannot debootstrap")


def _run(command: list[str], log: Path, **kwargs) -> None:
    with log.open("ab") as out:
        out.write(("$ " + " ".join(command) + "\n").encode())
        out.flush()
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, timeout=STEP_TIMEOUT, **kwargs)
    if done.returncode:
        tail = log.read_text(errors="replace").splitlines()[-30:]
        raise RuntimeError(f"{' '.join(command[:4])}… failed ({done.returncode}):\n" + "\n".join(tail))


@contextlib.contextmanager
def _chroot_ready(root: Path) -> Iterator[None]:
    """/proc mounted (Java's postinst runs java), DNS, and no service started by a postinst."""
    (root / "proc").mkdir(exist_ok=True)
    subprocess.run(["mount", "-t", "proc", "proc", str(root / "proc")], check=True)
    policy = root / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    resolv = root / "etc/resolv.conf"
    resolv.unlink(missing_ok=True)
    shutil.copyfile("/etc/resolv.conf", resolv)
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(root / "proc")], check=False)
        policy.unlink(missing_ok=True)
        resolv.write_text("")


def _chroot(root: Path, log: Path, script: str, extra_env: dict[str, str] | None = None) -> None:
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/root",
        "DEBIAN_FRONTEND": "noninteractive",
        "LANG": "C.UTF-8",
        **(extra_env or {}),
    }
    _run(["chroot", str(root), "/bin/sh", "-euc", script], log, env=env)


def _tar(root: Path, members: list[str], out: Path) -> None:
    """A layer tarball of ``members`` (paths relative to ``root``), owners and modes kept."""
    partial = out.with_suffix(".partial")
    with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
        for member in members:
            tar.add(root / member, arcname=member, filter=_no_device_nodes)
    partial.replace(out)


def _no_device_nodes(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    """The engine makes /dev and /proc itself; debootstrap's device nodes stay out of the image."""
    return None if info.name.startswith(("dev/", "proc/")) else info


def build_tarballs(directory: Path) -> tuple[Path, Path]:
    """``base.tar`` (debootstrap + apt) and ``app.tar`` (pip + npm), each built unless cached."""
    base, app = directory / "base.tar", directory / "app.tar"
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "build.log"
    if not base.is_file():
        with _scratch_root(directory) as root:
            _build_base(root, log)
            _tar(root, sorted(p.name for p in root.iterdir()), base)
    if not app.is_file():
        with _scratch_root(directory) as root:
            _run(["tar", "-xpf", str(base), "-C", str(root)], log)
            _build_app(root, log)
            _tar(root, ["usr/local", APP_DIR.lstrip("/")], app)
    return base, app


@contextlib.contextmanager
def _scratch_root(directory: Path) -> Iterator[Path]:
    work = Path(tempfile.mkdtemp(prefix="rootfs-", dir=directory))
    (work / "root").mkdir()
    try:
        yield work / "root"
    finally:
        shutil.rmtree(work, ignore_errors=True)


def debootstrap(root: Path, log: Path) -> None:
    """A minbase bookworm rootfs in ``root`` from this machine's mirror (also bench's base)."""
    mirror = debian_mirror()
    _run(["debootstrap", f"--variant={RECIPE['variant']}", RECIPE["suite"], str(root), mirror], log)
    (root / "etc/apt/sources.list").write_text(f"deb {mirror} {RECIPE['suite']} main\n")


def _build_base(root: Path, log: Path) -> None:
    debootstrap(root, log)
    apt, packages = " ".join(APT_OPTIONS), " ".join(RECIPE["apt"])
    with _chroot_ready(root):
        _chroot(
            root,
            log,
            f"apt-get {apt} update && apt-get {apt} install -y --no-install-recommends {packages}"
            " && apt-get clean && rm -rf /var/lib/apt/lists/*",
        )


def _build_app(root: Path, log: Path) -> None:
    """pip and npm from their registries as this machine reaches them: its trust store (which
    may hold a proxy's CA) is lent to the chroot for these commands only, never kept."""
    lent = root / "tmp/host-ca.pem"
    root.joinpath("tmp").mkdir(exist_ok=True)
    shutil.copyfile(HOST_TRUST_STORE, lent)
    trust = {"PIP_CERT": "/tmp/host-ca.pem", "NODE_EXTRA_CA_CERTS": "/tmp/host-ca.pem"}
    try:
        with _chroot_ready(root):
            _chroot(
                root,
                log,
                "pip install --no-cache-dir --break-system-packages --root-user-action=ignore "
                + " ".join(RECIPE["pip"]),
                trust,
            )
            _chroot(
                root,
                log,
                f"mkdir -p {APP_DIR} && cd {APP_DIR} && npm init -y >/dev/null"
                " && npm install --cafile /tmp/host-ca.pem --cache /tmp/npm-cache --no-audit --no-fund "
                + " ".join(RECIPE["npm"]),
                trust,
            )
    finally:
        lent.unlink(missing_ok=True)


def main() -> None:
    directory = cache_root() / recipe_key()
    base, app = build_tarballs(directory)
    print(f"{base} {base.stat().st_size >> 20} MiB, {app} {app.stat().st_size >> 20} MiB")


if __name__ == "__main__":
    main()
