"""Path globs and name patterns (hubguard/detect/globs.py): the fast forms answer exactly as
the definitions they stand for, ``fnmatchcase`` and one glob at a time."""

from __future__ import annotations

import fnmatch
import itertools

import pytest

from hubguard.detect.globs import glob_match, globs_match, shell_names

SHELL_PATTERNS = [
    "id_rsa", "*.pem", "*.tfstate.backup", "kubeconfig*", ".env.*", "*", "client_secret*.json",
    "?npmrc", "[._]netrc", "*.[jJ]son", "a*b*c", "[!x]*", "exact[", "",
]  # fmt: skip
NAMES = [
    "id_rsa", "id_rsa.pub", "server.pem", "pem", ".pem", "state.tfstate.backup", "kubeconfig",
    "kubeconfig-prod", "my.kubeconfig", ".env", ".env.local", "x.env", "client_secret_1.json",
    "client_secret.json.bak", ".npmrc", "_npmrc", "npmrc", ".netrc", "_netrc", "-netrc", "a.JSON",
    "a.Json", "axbyc", "abc", "acb", "xray", "yak", "exact[", "", "ünïcode.pem", "spaces in.key",
]  # fmt: skip


@pytest.mark.parametrize("size", [1, 2, 3])
def test_shell_names_answer_as_fnmatchcase_for_every_combination(size: int) -> None:
    for patterns in itertools.combinations(SHELL_PATTERNS, size):
        matcher = shell_names(patterns)
        for name in NAMES:
            expected = any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)
            assert matcher(name) == expected, (patterns, name)


GLOBS = [
    "*.sha1", "**/RECORD", "/RECORD", "go.sum", "lib/*.key", "**/secrets/**", "/etc/ssl/private/*",
    "*.[ch]", "a?c", "**/node_modules/**/*.pem", "SHA256SUMS", "/*.log", "a/**/b", ".aws/credentials",
]  # fmt: skip
PATHS = [
    "/usr/lib/python3/dist-packages/pip-23.0.dist-info/RECORD", "/RECORD", "RECORD", "/x/RECORD.txt",
    "/srv/app/file.sha1", "/srv/app/file.sha1.txt", "go.sum", "/src/go.sum", "/lib/a.key", "/x/lib/a.key",
    "/lib/sub/a.key", "/app/secrets/db.txt", "/secrets", "/etc/ssl/private/key.pem",
    "/x/etc/ssl/private/key.pem", "/src/main.[ch]", "/src/main.c", "/abc", "/a/abc", "/ac",
    "/srv/node_modules/x/y/cert.pem", "/srv/cert.pem", "/SHA256SUMS", "/a.log", "/x/a.log",
    "/secrets/db.txt", "/node_modules/cert.pem", "/a/b", "/a/x/y/b", "/x/a/b", "/ab", "/.aws/credentials",
    "/root/.aws/credentials", "/root/x.aws/credentials",
]  # fmt: skip


@pytest.mark.parametrize("size", [1, 2, 4])
def test_several_globs_answer_as_each_glob_alone(size: int) -> None:
    for patterns in itertools.combinations(GLOBS, size):
        for path in PATHS:
            expected = any(glob_match(path, pattern) for pattern in patterns)
            assert globs_match(path, patterns) == expected, (patterns, path)
