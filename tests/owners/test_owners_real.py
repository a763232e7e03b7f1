"""Owners on real images: Debian bookworm from debootstrap, apt, pip and npm (tests/realimages.py).

The stock stack must report nothing but the SSH host keys openssh-server generated; secrets
planted the ways users plant them must all be found, with the right owner.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hubguard.model import ScanReport
from hubguard.scan import Scanner, ScanOptions
from tests.conftest import DOCKER_CLI, run_docker
from tests.fakes import expand
from tests.realimages import APP_DIR

pytestmark = pytest.mark.engine

SSH_HOST_KEYS = "/etc/ssh/ssh_host_"
MODIFIED_DISTRO_FILE = "/usr/lib/python3.11/smtplib.py"  # libpython3.11-stdlib, in its md5sums
STAGING = "/tmp/plant"  # the COPY'd sources the planting steps read (and delete)
BASE_LABEL = "org.opencontainers.image.base.name"


@pytest.fixture
def build_big(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """``docker build`` on the 1 GB stack: the engine's vfs copies it for every step, so these
    builds get more time than ``build_image`` gives, and few steps. Removed after the test."""
    built: list[str] = []

    def build(dockerfile: str, files: dict[str, bytes | str], *labels: str) -> str:
        tag = f"hubguard-test/real-{os.urandom(6).hex()}:latest"
        context = tmp_path / tag.split("/")[1].split(":")[0]
        for name, content in {"Dockerfile": dockerfile, **files}.items():
            (context / name).parent.mkdir(parents=True, exist_ok=True)
            (context / name).write_bytes(content if isinstance(content, bytes) else content.encode())
        options = [argument for label in labels for argument in ("--label", label)]
        run_docker(["build", "--network", "none", "--force-rm", *options, "-t", tag, str(context)])
        built.append(tag)
        return tag

    yield build
    for tag in reversed(built):  # the CLI, which waits as long as vfs takes to delete 1 GB
        subprocess.run([DOCKER_CLI, "rmi", "-f", tag], capture_output=True, timeout=1800, check=False)


@pytest.fixture(scope="session")
def scan_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One layer cache for these tests: the planted images share the stack's layers."""
    return tmp_path_factory.mktemp("owners-cache")


def scan(image: str, cache: Path, **options) -> ScanReport:
    return Scanner(ScanOptions(cache_dir=cache, **options)).scan([image])


def test_the_stock_stack_reports_only_the_ssh_host_keys(real_stack: str, scan_cache: Path):
    report = scan(real_stack, scan_cache)
    assert report.complete, report.problems
    unexpected = [
        f"{f.rule_id} {f.path} {f.owner}" for f in report.findings if not f.path.startswith(SSH_HOST_KEYS)
    ]
    assert unexpected == []
    keys = {f.path for f in report.findings}
    assert {f"{SSH_HOST_KEYS}{kind}_key" for kind in ("rsa", "ecdsa", "ed25519")} <= keys
    assert {f.owner.kind for f in report.findings if f.owner} == {"own"}  # generated, in no package
    assert report.owner_quieted > 0  # the distro's and packages' own samples, quieted by their owner


def test_planted_secrets_are_all_found_with_their_owner(real_stack: str, build_big, scan_cache: Path):
    values = {name: expand("{alnum:24}", os.urandom(8).hex()) for name in ("base", "pip", "npm", "distro")}
    inherited = build_big(
        f"FROM {real_stack}\nCOPY vendor.env /opt/vendor/vendor.env\n",
        {"vendor.env": f"API_PASSWORD={values['base']}\n"},
    )
    app_key = subprocess.run(
        ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        capture_output=True,
        check=True,
    ).stdout
    files = {
        "plant/app/pyproject.toml": '[project]\nname = "myapp"\nversion = "1.0"\n'
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n',
        "plant/app/myapp/__init__.py": "",
        "plant/app/myapp/settings.py": f'DATABASE_PASSWORD = "{values["pip"]}"\n',
        "plant/localdep/package.json": '{"name": "localdep", "version": "1.0.0", "main": "index.js"}\n',
        "plant/localdep/index.js": f'module.exports = {{ password: "{values["npm"]}" }};\n',
        "plant/patch.py": f'\nSMTP_PASSWORD = "{values["distro"]}"\n',
        "plant/app.key": app_key,
    }
    planted = build_big(
        f"FROM {inherited}\n"
        f"COPY plant {STAGING}\n"
        f"RUN pip install --no-deps --no-build-isolation --no-index --break-system-packages"
        f" --root-user-action=ignore {STAGING}/app"
        f" && cd {APP_DIR} && npm install --offline --install-links --no-audit --no-fund {STAGING}/localdep"
        f" && cat {STAGING}/patch.py >> {MODIFIED_DISTRO_FILE}"
        f" && install -D -m 600 {STAGING}/app.key /etc/ssl/private/app.key && rm -rf {STAGING}\n",
        files,
        f"{BASE_LABEL}={inherited}",
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "hubguard",
            "scan",
            planted,
            "--format",
            "json",
            "--cache-dir",
            str(scan_cache),
        ],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 1, result.stderr  # own findings fail; inherited ones alone would not
    findings = json.loads(result.stdout)["findings"]
    shipped = [f for f in findings if not f["path"].startswith(STAGING)]  # the sources, deleted later
    owners = {(f["path"], f["owner"]["kind"]) for f in shipped}
    expected = {
        ("/opt/vendor/vendor.env", "base"),
        ("/usr/local/lib/python3.11/dist-packages/myapp/settings.py", "own"),
        (f"{APP_DIR}/node_modules/localdep/index.js", "own"),
        (MODIFIED_DISTRO_FILE, "own"),
        ("/etc/ssl/private/app.key", "own"),
    }
    assert expected <= owners
    assert {path for path, _ in owners - expected} <= {
        f"{SSH_HOST_KEYS}{kind}_key" for kind in ("rsa", "ecdsa", "ed25519")
    }
    by_path = {f["path"]: f for f in shipped}
    assert by_path["/opt/vendor/vendor.env"]["owner"]["how"] == f"label {BASE_LABEL}={inherited}"
    assert by_path[MODIFIED_DISTRO_FILE]["owner"]["package"] == "libpython3.11-stdlib"
    assert "differs" in by_path[MODIFIED_DISTRO_FILE]["owner"]["how"]
    assert (
        "direct_url.json"
        in by_path["/usr/local/lib/python3.11/dist-packages/myapp/settings.py"]["owner"]["how"]
    )
    assert all(f["third_party"] for f in shipped if f["owner"]["kind"] == "base")
