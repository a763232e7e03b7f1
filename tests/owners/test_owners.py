"""Owners from each package manager's records, as the managers write them."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import subprocess
import sys

import pytest

from hubguard.hashing import HashThread
from hubguard.owners import DigestingReader, LayerRecords, Ownership, is_database
from hubguard.owners.base import inherited_layers

LIBRARY = b"\x7fELF fake library with a self-test key\n"
CONFFILE = b"# nsswitch\npasswd: files\n"


def digests(data: bytes) -> dict[str, str]:
    return {name: hashlib.new(name, data).hexdigest() for name in ("md5", "sha1", "sha256")}


def dpkg_layer(**hit_files: bytes) -> LayerRecords:
    md5sums = f"{hashlib.md5(LIBRARY).hexdigest()}  usr/lib/x86_64-linux-gnu/libgnutls.so.30\n"
    md5sums += f"{hashlib.md5(b'old').hexdigest()}  bin/tool\n"
    status = (
        "Package: libc-bin\nStatus: install ok installed\nConffiles:\n"
        f" /etc/nsswitch.conf {hashlib.md5(CONFFILE).hexdigest()}\nDescription: x\n\n"
    )
    return LayerRecords(
        {"/var/lib/dpkg/info/libgnutls30:amd64.md5sums": md5sums, "/var/lib/dpkg/status": status},
        {path: digests(data) for path, data in hit_files.items()},
    )


def test_dpkg_files_are_distro_only_while_their_md5_matches():
    layer = dpkg_layer(
        **{
            "/usr/lib/x86_64-linux-gnu/libgnutls.so.30": LIBRARY,
            "/etc/nsswitch.conf": CONFFILE,
            "/usr/bin/tool": b"modified after install",
        }
    )
    ownership = Ownership([layer])
    library = ownership.owner("/usr/lib/x86_64-linux-gnu/libgnutls.so.30", 0)
    assert (library.kind, library.package, library.how) == ("distro", "libgnutls30", "dpkg md5sums")
    assert ownership.owner("/etc/nsswitch.conf", 0).how == "dpkg conffile"
    modified = ownership.owner("/usr/bin/tool", 0)  # listed as /bin/tool: merged /usr
    assert (modified.kind, modified.package) == ("own", "libgnutls30")
    assert "differs" in modified.how
    assert ownership.owner("/etc/ssl/private/app.key", 0).kind == "own"
    assert ownership.owner("/var/lib/dpkg/info/libgnutls30:amd64.postinst", 0).kind == "distro"


def test_a_later_layers_database_decides_for_files_of_earlier_layers():
    files = LayerRecords({}, {"/usr/lib/x86_64-linux-gnu/libgnutls.so.30": digests(LIBRARY)})
    ownership = Ownership([files, dpkg_layer()])
    assert ownership.owner("/usr/lib/x86_64-linux-gnu/libgnutls.so.30", 0).kind == "distro"


def test_apk_installed_db_checks_the_sha1():
    blob = b"#!/bin/sh\necho hi\n"
    sha1 = base64.b64encode(hashlib.sha1(blob).digest()).decode()
    installed = f"P:busybox\nV:1\nF:bin\nR:tool\nZ:Q1{sha1}\nR:other\nZ:Q1{sha1}\n\n"
    layer = LayerRecords(
        {"/lib/apk/db/installed": installed}, {"/bin/tool": digests(blob), "/bin/other": digests(b"x")}
    )
    ownership = Ownership([layer])
    assert ownership.owner("/bin/tool", 0).label == "distro busybox"
    assert ownership.owner("/bin/other", 0).kind == "own"


def test_pip_record_sha256_and_direct_url_installs_are_own():
    site = "/usr/local/lib/python3.11/dist-packages"
    module = b"KEY = 'x'\n"
    sha = base64.urlsafe_b64encode(hashlib.sha256(module).digest()).rstrip(b"=").decode()
    layer = LayerRecords(
        {
            f"{site}/stripe-7.0.0.dist-info/RECORD": (
                f"stripe/x.py,sha256={sha},10\nstripe/__pycache__/x.pyc,,\n"
            ),
            f"{site}/myapp-1.0.dist-info/RECORD": f"myapp/settings.py,sha256={sha},10\n",
            f"{site}/myapp-1.0.dist-info/direct_url.json": '{"url": "file:///src/app", "dir_info": {}}',
        },
        {f"{site}/stripe/x.py": digests(module), f"{site}/myapp/settings.py": digests(module)},
    )
    ownership = Ownership([layer])
    assert ownership.owner(f"{site}/stripe/x.py", 0).label == "package stripe"
    assert ownership.owner(f"{site}/stripe/__pycache__/x.pyc", 0).kind == "package"  # no hash kept
    own = ownership.owner(f"{site}/myapp/settings.py", 0)
    assert (own.kind, own.package) == ("own", "myapp") and "direct_url.json" in own.how


def test_npm_lockfile_registry_packages_and_file_dependencies():
    lock = {
        "packages": {
            "": {"name": "app"},
            "node_modules/@octokit/rest": {
                "resolved": "https://registry.example/@octokit/rest/-/rest-20.0.0.tgz",
                "integrity": "sha512-abc",
            },
            "node_modules/localdep": {"resolved": "file:localdep", "version": "1.0.0"},
            "node_modules/linked": {"resolved": "linked", "link": True},
        }
    }
    layer = LayerRecords({"/srv/app/node_modules/.package-lock.json": json.dumps(lock)}, {})
    ownership = Ownership([layer])
    assert (
        ownership.owner("/srv/app/node_modules/@octokit/rest/dist/index.js", 0).label
        == "package @octokit/rest"
    )
    assert ownership.owner("/srv/app/node_modules/localdep/index.js", 0).kind == "own"
    assert ownership.owner("/srv/app/node_modules/linked/index.js", 0).kind == "own"
    assert ownership.owner("/srv/app/server.js", 0).kind == "own"


def test_own_files_of_inherited_layers_are_base_and_packages_stay_packages():
    base = dpkg_layer(**{"/etc/vendor.env": b"x", "/usr/lib/x86_64-linux-gnu/libgnutls.so.30": LIBRARY})
    ownership = Ownership([base, LayerRecords()], base_layers=1, base_how="--base debian")
    inherited = ownership.owner("/etc/vendor.env", 0)
    assert (inherited.kind, inherited.how) == ("base", "--base debian")
    assert ownership.owner("/usr/lib/x86_64-linux-gnu/libgnutls.so.30", 0).kind == "distro"
    assert ownership.owner("/app/x", 1).kind == "own"


def test_layouts_without_records_are_package():
    ownership = Ownership([LayerRecords()], layouts=("/go/pkg/mod/**",))
    assert ownership.owner("/go/pkg/mod/github.com/x/y@v1/z.go", 0).kind == "package"
    assert ownership.owner("/go/src/app/main.go", 0).kind == "own"


def test_base_layers_are_a_shared_prefix_of_the_whole_base():
    assert inherited_layers(["a", "b", "c"], ["a", "b"]) == 2
    assert inherited_layers(["a", "x", "c"], ["a", "b"]) == 0  # rebuilt on another base
    assert inherited_layers(["a"], []) == 0


def test_database_paths():
    assert is_database("/var/lib/dpkg/info/libc6:amd64.md5sums")
    assert is_database("/usr/lib/python3/dist-packages/six-1.16.0.dist-info/RECORD")
    assert is_database("/srv/app/node_modules/.package-lock.json")
    assert not is_database("/srv/app/package-lock.json")


def test_digesting_reader_hashes_small_and_streamed_files():
    data = bytes(range(256)) * 100
    reader = DigestingReader(io.BytesIO(data))
    reader.read(1000)  # the scan stopped early: the rest is read for the digest
    reader.finish()
    assert reader.digests() == digests(data)
    with HashThread() as hashes:  # hashed on another thread, in order, piece by piece
        streamed = DigestingReader(io.BytesIO(data), hashes)
        while streamed.read(3000):
            pass
        assert streamed.digests() == digests(data)


def _scan_json(*args: str) -> tuple[int, dict]:
    result = subprocess.run(
        [sys.executable, "-m", "hubguard", "scan", *args, "--format", "json", "--no-cache"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


@pytest.mark.engine
def test_base_layers_are_inherited_and_fail_only_when_asked(busybox_image, build_image, fake_token):
    base = build_image(
        f"FROM {busybox_image}\nCOPY vendor.env /opt/vendor.env\n",
        {"vendor.env": f"TOKEN={fake_token('ghp_{alnum:36}')}\n"},
    )
    app = build_image(f"FROM {base.tag}\nCOPY app.txt /app/app.txt\n", {"app.txt": "nothing here\n"})

    code, report = _scan_json(app.tag, "--base", base.tag)
    (finding,) = report["findings"]
    assert finding["owner"] == {"kind": "base", "package": "", "how": f"--base {base.tag}"}
    assert (code, finding["third_party"], report["summary"]["by_owner"]["base"]) == (0, True, 1)

    code, report = _scan_json(app.tag, "--base", base.tag, "--fail-owners", "own,base")
    assert (code, report["findings"][0]["third_party"]) == (1, False)

    code, report = _scan_json(app.tag)  # no base named: the user's own file
    assert (code, report["findings"][0]["owner"]["kind"]) == (1, "own")
