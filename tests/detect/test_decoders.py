"""Secrets in encodings a line scanner cannot read: UTF-16 text, Kubernetes Secret data,
compiled Python. Scanned through content.scan_bytes with the built-in rules, as a layer file."""

from __future__ import annotations

import base64
import importlib.util
import py_compile
from pathlib import Path

import pytest

from hubguard.detect.content import scan_bytes
from hubguard.detect.decoders import pyc_strings, utf16_text
from hubguard.detect.engine import Detector
from hubguard.detect.rules import load_rules
from hubguard.model import hash_secret
from tests.fakes import expand

DETECTOR = Detector(load_rules())
TOKEN = expand("ghp_{alnum:36}", seed="decoders")
SLACK = expand("xoxb-{digit:12}-{digit:13}-{alnum:24}", seed="decoders")
APPSETTINGS = f'{{\n  "Logging": {{ "Level": "Info" }},\n  "GitHub": {{ "Token": "{TOKEN}" }}\n}}\n'


def reported(data: bytes, path: str) -> dict[str, tuple[str, int | None]]:
    return {hit.rule_id: (hit.hashed_secret, hit.line) for hit in scan_bytes(DETECTOR, data, path)}


@pytest.mark.parametrize(
    ("encoded", "path"),
    [
        (b"\xff\xfe" + APPSETTINGS.encode("utf-16-le"), "app/appsettings.json"),
        (b"\xfe\xff" + APPSETTINGS.encode("utf-16-be"), "app/appsettings.json"),
        (APPSETTINGS.encode("utf-16-le"), "app/settings.ini"),
        (APPSETTINGS.replace("\n", "\r\n").encode("utf-16-le"), "app/deploy.ps1"),
    ],
)
def test_utf16_text_is_scanned_with_its_line_numbers(encoded: bytes, path: str) -> None:
    assert reported(encoded, path)["github-pat-classic"] == (hash_secret(TOKEN), 3)


def test_binaries_are_not_mistaken_for_utf16() -> None:
    table = bytes(range(1, 128)) * 40  # a 16-bit-looking table would need NULs every other byte
    assert utf16_text(b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 64 + table) is None
    assert utf16_text(b"\x01\x00\x02\x00\xff\x00\x80\x00" * 100) is None


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


SECRET_MANIFEST = f"""\
apiVersion: v1
kind: ConfigMap
metadata: {{name: settings}}
data: {{level: info}}
---
apiVersion: v1
kind: Secret
metadata:
  name: app
type: Opaque
data:
  github-token: {b64(TOKEN)}
  config.env: {b64("DEBUG=0" + chr(10) + "SLACK_BOT_TOKEN=" + SLACK + chr(10))}
stringData:
  plain: "{expand("xoxb-{digit:12}-{digit:13}-{alnum:24}", seed="plain")}"
"""


def test_kubernetes_secret_data_is_decoded_and_string_data_read_as_is() -> None:
    hits = {hit.hashed_secret: hit for hit in scan_bytes(DETECTOR, SECRET_MANIFEST.encode(), "k8s/app.yaml")}
    assert hash_secret(TOKEN) in hits and hits[hash_secret(TOKEN)].line is None
    assert hash_secret(SLACK) in hits
    assert hash_secret(expand("xoxb-{digit:12}-{digit:13}-{alnum:24}", seed="plain")) in hits


def test_kubernetes_secret_examples_with_placeholders_are_quiet() -> None:
    example = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: example\ndata:\n"
        f"  password: {b64('changeme')}\n  api-token: {b64('<your-token>')}\n"
        f"  DB_PASSWORD: {b64('xxxxxxxx')}\n  url: {b64('${DATABASE_URL}')}\n"
    )
    assert reported(example.encode(), "deploy/secret.example.yaml") == {}


def test_token_shape_placeholders_are_quiet_including_plugins() -> None:
    assert reported(b"GITHUB_TOKEN: ghp_" + b"x" * 36 + b"\n", "docs/setup.md") == {}


def test_a_broken_manifest_is_scanned_as_plain_text() -> None:
    broken = f"kind: Secret\ndata: [unclosed\n  token: {TOKEN}\n"
    assert "github-pat-classic" in reported(broken.encode(), "k8s/broken.yaml")


def compiled(tmp_path: Path, source: str) -> bytes:
    module = tmp_path / "settings.py"
    module.write_text(source, encoding="utf-8")
    return Path(
        py_compile.compile(str(module), cfile=str(tmp_path / "settings.pyc"), doraise=True)
    ).read_bytes()


SOURCE = f"""\
import os
open({str(Path("/tmp") / "hubguard-pyc-was-executed")!r}, "w").write("ran")
def client():
    return {{"token": "{TOKEN}", "retries": 3}}
"""


def test_pyc_string_constants_are_scanned_never_executed(tmp_path: Path) -> None:
    marker = Path("/tmp/hubguard-pyc-was-executed")
    marker.unlink(missing_ok=True)
    pyc = compiled(tmp_path, SOURCE)
    assert pyc[:4] == importlib.util.MAGIC_NUMBER
    assert reported(pyc, "usr/lib/app/settings.pyc")["github-pat-classic"][0] == hash_secret(TOKEN)
    assert not marker.exists()


def test_pyc_of_another_python_version_is_read_by_its_string_records(tmp_path: Path) -> None:
    foreign = b"\x55\x0d\x0d\x0a" + compiled(tmp_path, SOURCE)[4:]  # 3.8's magic number
    assert TOKEN in pyc_strings(foreign)
    assert "github-pat-classic" in reported(foreign, "app/settings.pyc")
