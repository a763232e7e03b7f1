"""Materialise a corpus case in a directory: the file itself, its build context (generated fake
secrets), and its .dockerignore. Shared by tests/lint/test_lint.py and bench/lint_compare.py."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tests.fakes import expand

CORPUS = Path(__file__).resolve().parent
EXPECT = re.compile(r"^# expect: (.*)$", re.MULTILINE)
CONTEXT_FILE = re.compile(r"^# context-file: (\S+)(?: (placeholder))?$", re.MULTILINE)
DOCKERIGNORE = re.compile(r"^# dockerignore: (.*)$", re.MULTILINE)

# Content for context files, by name: (fake secret template, harmless placeholder).
CONTENT = (
    (r"(^|/)\.env[^/]*$|\.env$", ("API_TOKEN={alnum:32}\n", "API_TOKEN=\n")),
    (
        r"(^|/)id_(rsa|ed25519)$",
        ("-----BEGIN OPENSSH PRIVATE KEY-----\n{b64:70}\n-----END OPENSSH PRIVATE KEY-----\n", ""),
    ),
    (
        r"(^|/)\.npmrc$",
        (
            "//registry.example.invalid/:_authToken={b64url:40}\n",
            "//registry.example.invalid/:_authToken=${NPM_TOKEN}\n",
        ),
    ),
    (r"(^|/)\.netrc$", ("machine files.example.invalid login ci password {alnum:20}\n", "")),
    (
        r"\.pem$",
        (
            "-----BEGIN PRIVATE KEY-----\n{b64:64}\n-----END PRIVATE KEY-----\n",
            "-----BEGIN CERTIFICATE-----\n{b64:64}\n-----END CERTIFICATE-----\n",
        ),
    ),
    (
        r"(^|/)\.aws/credentials$",
        ("[default]\naws_access_key_id = AKIA{upalnum:16}\naws_secret_access_key = {b64:40}\n", ""),
    ),
    (r"(^|/)\.docker/config\.json$", ('{"auths": {"registry.example.invalid": {"auth": "{b64:40}"}}}\n', "")),
)


@dataclass(frozen=True)
class Case:
    name: str  # e.g. bad/copy-id-rsa
    path: Path
    expected: frozenset[tuple[str, int]]  # (rule id, line)
    kind: str  # dockerfile, workflow or makefile

    @property
    def group(self) -> str:
        return self.name.split("/", 1)[0]

    def materialise(self, directory: Path) -> Path:
        """Write the case into ``directory``; returns the path to lint."""
        text = self.path.read_text(encoding="utf-8")
        if self.kind == "workflow":
            target = directory / ".github" / "workflows" / self.path.name
        elif self.kind == "makefile":
            target = directory / "Makefile"
        else:
            target = directory / "Dockerfile"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(expand(text, self.name), encoding="utf-8")
        for match in CONTEXT_FILE.finditer(text):
            name, placeholder = match.group(1), bool(match.group(2))
            file = directory / name
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(expand(_content(name, placeholder), self.name + name), encoding="utf-8")
        ignore = DOCKERIGNORE.search(text)
        if ignore:
            (directory / ".dockerignore").write_text("\n".join(ignore.group(1).split()) + "\n")
        return target


def _content(name: str, placeholder: bool) -> str:
    for pattern, (secret, harmless) in CONTENT:
        if re.search(pattern, name):
            return harmless if placeholder else secret
    return "print('hello')\n"


def cases() -> list[Case]:
    found = []
    for path in sorted(CORPUS.glob("*/*")):
        if path.suffix not in (".Dockerfile", ".yml", ".mk"):
            continue
        text = path.read_text(encoding="utf-8")
        expect = EXPECT.search(text)
        assert expect, f"{path}: no '# expect:' line"
        expected = frozenset(
            (rule, int(line))
            for rule, line in (item.split("@") for item in expect.group(1).split() if item != "none")
        )
        kind = {".yml": "workflow", ".mk": "makefile"}.get(path.suffix, "dockerfile")
        found.append(Case(f"{path.parent.name}/{path.stem}", path, expected, kind))
    return found
