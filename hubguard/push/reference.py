"""Image references parsed and normalised the way the docker CLI does (distribution/reference).

The push guard decides visibility from the *normalised* name, so ``myname/app``,
``docker.io/myname/app`` and ``index.docker.io/myname/app`` must all mean the same
repository, and ``nginx`` must mean ``docker.io/library/nginx``. Anything docker would
reject is rejected here too, with one line saying what is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from hubguard.errors import InputError

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
MAX_PATH_LENGTH = 255

# The grammar of distribution/reference (regexp.go). Go's RE2 ``\w`` is ASCII-only, hence
# re.ASCII; every use is ``fullmatch`` because Python's ``$`` also matches before a newline.
_ALPHANUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALPHANUMERIC}(?:{_SEPARATOR}{_ALPHANUMERIC})*"
_REMOTE_NAME = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN = rf"(?:{_DOMAIN_NAME}|{_IPV6})(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

REFERENCE_RE = re.compile(
    rf"(?P<domain>{_DOMAIN})/(?P<path>{_REMOTE_NAME})(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?",
    re.ASCII,
)
DOMAIN_RE = re.compile(_DOMAIN, re.ASCII)
PATH_RE = re.compile(_REMOTE_NAME, re.ASCII)
TAG_RE = re.compile(_TAG, re.ASCII)
DIGEST_RE = re.compile(_DIGEST, re.ASCII)
IDENTIFIER_RE = re.compile(r"[a-f0-9]{64}")

# go-digest's registered algorithms and the exact length of their lowercase hex encoding.
DIGEST_HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}

TAG_RULE = "a tag is 1-128 letters, digits, '_', '.' or '-' and cannot start with '.' or '-'"
PATH_RULE = (
    "path components are lowercase letters and digits separated by '.', '_', '__' or '-', joined by '/'"
)


@dataclass(frozen=True)
class Reference:
    """A normalised reference: ``domain/path[:tag][@digest]``, domain always explicit."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """The repository, fully qualified: ``docker.io/library/nginx``."""
        return f"{self.domain}/{self.path}"

    @property
    def familiar(self) -> str:
        """The repository as docker shows it: ``nginx``, ``myname/app``, ``localhost:5000/app``."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        official = self.path.removeprefix(OFFICIAL_REPO_PREFIX)
        if official != self.path and "/" not in official:
            return official
        return self.path

    @property
    def familiar_string(self) -> str:
        """The familiar name with its tag and digest, for messages: ``myname/app:1``."""
        return self.familiar + self._suffix()

    @property
    def is_docker_hub(self) -> bool:
        return self.domain == DEFAULT_DOMAIN

    def with_tag(self, tag: str) -> Reference:
        """The same repository at another tag (e.g. each tag of ``push --all-tags``)."""
        if not TAG_RE.fullmatch(tag):
            raise InputError(f"invalid tag {tag!r} for {self.familiar}: {TAG_RULE}")
        return replace(self, tag=tag, digest=None)

    def _suffix(self) -> str:
        suffix = f":{self.tag}" if self.tag is not None else ""
        return suffix + (f"@{self.digest}" if self.digest is not None else "")

    def __str__(self) -> str:
        return self.name + self._suffix()


def parse_reference(text: str) -> Reference:
    """Parse like ``docker push``: normalise the name, default the tag to ``latest`` unless a
    digest is given. Raises InputError with one line naming what is invalid."""
    reference = _parse(text)
    if reference.tag is None and reference.digest is None:
        return replace(reference, tag=DEFAULT_TAG)
    return reference


def parse_repository(text: str) -> Reference:
    """Parse a bare repository name (``push --all-tags NAME``): a tag or digest is an error,
    as in docker, and the result has neither."""
    reference = _parse(text)
    if reference.tag is not None or reference.digest is not None:
        raise InputError(f"invalid repository {text!r}: give the repository without a tag or digest")
    return reference


def split_docker_domain(name: str) -> tuple[str, str]:
    """Split ``name`` into registry domain and the rest, canonicalising Docker Hub.

    The first component is a registry when :func:`looks_like_registry` says so; a single
    component on Docker Hub is an official image (``library/``).
    """
    first, slash, rest = name.partition("/")
    if not slash:
        return DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX + name
    if first == LEGACY_DEFAULT_DOMAIN:
        domain, remainder = DEFAULT_DOMAIN, rest
    elif looks_like_registry(first):
        domain, remainder = first, rest
    else:
        domain, remainder = DEFAULT_DOMAIN, name
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_REPO_PREFIX + remainder
    return domain, remainder


def looks_like_registry(component: str) -> bool:
    """Whether the first component of a name is a registry host rather than a namespace."""
    return component == "localhost" or "." in component or ":" in component or component.lower() != component


def _parse(text: str) -> Reference:
    if not text:
        raise _invalid(text, "repository name must have at least one component")
    if IDENTIFIER_RE.fullmatch(text):
        raise _invalid(text, "a 64-character hexadecimal image ID is not a repository name")
    domain, remainder = split_docker_domain(text)
    remote = remainder.split(":", 1)[0]
    if remote.lower() != remote:
        raise _invalid(text, "repository name must be lowercase")
    match = REFERENCE_RE.fullmatch(f"{domain}/{remainder}")
    if match is None:
        raise _invalid(text, _diagnose(domain, remainder, official="/" not in text))
    if len(match["path"]) > MAX_PATH_LENGTH:
        raise _invalid(text, f"repository name must not be more than {MAX_PATH_LENGTH} characters")
    if match["digest"] is not None:
        problem = _digest_problem(match["digest"])
        if problem:
            raise _invalid(text, problem)
    return Reference(match["domain"], match["path"], match["tag"], match["digest"])


def _digest_problem(digest: str) -> str:
    """What go-digest's Validate would refuse: unknown algorithms, wrong length, uppercase."""
    algorithm, _, encoded = digest.partition(":")
    expected = DIGEST_HEX_LENGTHS.get(algorithm)
    if expected is None:
        supported = ", ".join(DIGEST_HEX_LENGTHS)
        return f"unsupported digest algorithm {algorithm!r} (supported: {supported})"
    if len(encoded) != expected:
        return f"invalid {algorithm} digest: expected {expected} hex characters, got {len(encoded)}"
    if not re.fullmatch(r"[a-f0-9]+", encoded):
        return f"invalid {algorithm} digest: use lowercase hexadecimal"
    return ""


def _diagnose(domain: str, remainder: str, *, official: bool) -> str:
    """Name the part of a reference that does not fit the grammar, as the user wrote it."""
    name_and_tag, at, digest = remainder.partition("@")
    if at and not DIGEST_RE.fullmatch(digest):
        return f"invalid digest {digest!r}: expected ALGORITHM:HEX, e.g. sha256:<64 hex characters>"
    head, _, last = name_and_tag.rpartition("/")
    last_name, colon, tag = last.partition(":")
    if colon and not TAG_RE.fullmatch(tag):
        return f"invalid tag {tag!r}: {TAG_RULE}"
    if not DOMAIN_RE.fullmatch(domain):
        return f"invalid registry host {domain!r}"
    path = f"{head}/{last_name}" if head else last_name
    if not PATH_RE.fullmatch(path):
        shown = path.removeprefix(OFFICIAL_REPO_PREFIX) if official else path
        return f"invalid repository name {shown!r}: {PATH_RULE}"
    return "invalid reference format"


def _invalid(text: str, why: str) -> InputError:
    shown = text if len(text) <= 120 else text[:120] + "…"
    return InputError(f"invalid image reference {shown!r}: {why}")
