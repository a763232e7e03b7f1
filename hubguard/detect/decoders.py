"""Text hidden in encodings the line scanner cannot read: UTF-16 files, base64 values of
Kubernetes Secret manifests, string constants of compiled Python (.pyc).

Each decoder turns a file's bytes into UTF-8 text views that the ordinary token rules scan.
Nothing is executed: YAML is read with the safe loader, .pyc files are read as marshal data
(``marshal.loads`` builds code objects but never runs them) or, for another Python version's
bytecode, by walking marshal's string records. Only sourceless bytecode is read: Python imports
a .pyc without its source only from beside where the source would be, so ``__pycache__/``
entries are caches of source files that the scan reads anyway.
"""

from __future__ import annotations

import base64
import binascii
import importlib.util
import marshal
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

SNIFF = 4096
TEXT_BYTES = bytes([9, 10, 13, *range(32, 127)])
UTF16_BOMS = {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
MANIFEST_LIMIT = 4 * 1024 * 1024
KIND_SECRET = re.compile(rb"""[ \t\r\n\f\v]*["']?kind["']?\s*:\s*["']?Secret\b""")
PYC_HEADER = 16  # magic, flags, and source mtime+size or hash (PEP 552)
PYC_LIMIT = 16 * 1024 * 1024
MIN_STRING = 8  # shorter constants hold no token worth reporting
# marshal type codes of strings (with or without the FLAG_REF bit): one-byte length
# ('z' short ASCII, 'Z' interned) or four-byte length ('a' ASCII, 'A' interned, 'u' unicode,
# 't' interned unicode, 's' bytes).
SHORT_STRINGS = {ord("z"), ord("Z")}
LONG_STRINGS = {ord("a"), ord("A"), ord("u"), ord("t"), ord("s")}


@dataclass
class Decoded:
    """What to scan for one file: ``raw`` in place of its bytes (Secret manifests with their
    base64 values masked, as the decoded values are scanned instead), plus text ``views``,
    each with whether its lines are the file's own (UTF-16 text) or not (decoded values)."""

    raw: bytes
    views: list[tuple[bytes, bool]] = field(default_factory=list)


def decode(path: str, data: bytes) -> Decoded:
    decoded = Decoded(data)
    utf16 = utf16_text(data)
    if utf16 is not None:
        decoded.views.append((utf16, True))
    lowered = path.lower()
    if (
        lowered.endswith(MANIFEST_SUFFIXES)
        and len(data) <= MANIFEST_LIMIT
        and b"Secret" in data
        and declares_secret(data)
    ):
        for encoded, text in kubernetes_secret_values(data):
            decoded.raw = decoded.raw.replace(encoded.encode(), b"*" * len(encoded))
            decoded.views.append((text.encode("utf-8", "replace"), False))
    if lowered.endswith(".pyc") and "/__pycache__/" not in f"/{lowered}" and len(data) <= PYC_LIMIT:
        strings = pyc_strings(data)
        if strings:
            decoded.views.append(("\n".join(strings).encode("utf-8", "replace"), False))
    return decoded


def declares_secret(data: bytes) -> bool:
    """A line that starts (after blank space) with ``kind: Secret``. Tried where ``kind``
    occurs, from its line's start: a multi-line ``^`` regex is tried at every byte, and took
    a second over the JSON files botocore ships (which all say "Secret" somewhere)."""
    position = data.find(b"kind")
    while position >= 0:
        line_start = data.rfind(b"\n", 0, position) + 1
        if KIND_SECRET.match(data, line_start):
            return True
        position = data.find(b"kind", position + 4)
    return False


def utf16_text(data: bytes) -> bytes | None:
    """The text of a UTF-16 file (a BOM, or ASCII with every other byte NUL), as UTF-8."""
    encoding = UTF16_BOMS.get(data[:2])
    body = data[2:] if encoding else data
    if encoding is None:
        head = data[:SNIFF]
        if len(head) < 8 or b"\0" not in head:  # UTF-16 of ASCII is half NULs: most files stop here
            return None
        even, odd = head[0::2], head[1::2]
        if odd.count(0) > 0.9 * len(odd) and _mostly_text(even):
            encoding = "utf-16-le"
        elif even.count(0) > 0.9 * len(even) and _mostly_text(odd):
            encoding = "utf-16-be"
        else:
            return None
    return body.decode(encoding, "replace").encode("utf-8", "replace")


def _mostly_text(chars: bytes) -> bool:
    """ASCII text: printable characters, tabs and line ends, hardly anything else."""
    return len(chars) - len(chars.translate(None, TEXT_BYTES)) > 0.95 * len(chars)


def kubernetes_secret_values(data: bytes) -> list[tuple[str, str]]:
    """(base64 value, ``key: decoded`` text) for each ``data:`` entry of each ``kind: Secret``
    document; ``stringData:`` is plain text, which the raw scan reads as is."""
    import yaml

    try:
        documents = list(yaml.safe_load_all(data))
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError):
        return []
    values = []
    for document in _documents(documents):
        if document.get("kind") != "Secret" or not isinstance(document.get("data"), dict):
            continue
        for key, value in document["data"].items():
            decoded = _base64(value)
            if decoded is not None:
                values.append((value, f"{key}: {decoded}"))
    return values


def _documents(documents: list[object]) -> Iterator[dict]:
    """Documents, and the items of a ``kind: List``."""
    for document in documents:
        if isinstance(document, dict):
            yield document
            if isinstance(document.get("items"), list):
                yield from (item for item in document["items"] if isinstance(item, dict))


def _base64(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        raw = base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.decode("utf-8", "replace")


def pyc_strings(data: bytes) -> list[str]:
    """The string constants of a .pyc file."""
    if len(data) <= PYC_HEADER:
        return []
    if data[:4] == importlib.util.MAGIC_NUMBER:
        try:
            code = marshal.loads(data[PYC_HEADER:])
        except (ValueError, EOFError, TypeError):
            code = None
        if code is not None:
            return [text for text in _constants(code) if len(text) >= MIN_STRING]
    return list(_marshal_strings(data[PYC_HEADER:]))


def _constants(value: object, depth: int = 0) -> Iterator[str]:
    """Strings and bytes among a code object's constants, nested code and tuples included."""
    if depth > 100:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, bytes):
        yield value.decode("latin-1")
    elif isinstance(value, (tuple, frozenset, list)):
        for item in value:
            yield from _constants(item, depth + 1)
    elif hasattr(value, "co_consts"):
        yield from _constants(value.co_consts, depth + 1)


def _marshal_strings(body: bytes) -> Iterator[str]:
    """String records found by their marshal type code, for bytecode of another Python."""
    position, end = 0, len(body)
    while position < end - 2:
        code = body[position] & 0x7F
        if code in SHORT_STRINGS:
            length, start = body[position + 1], position + 2
        elif code in LONG_STRINGS and position + 5 <= end:
            length, start = struct.unpack_from("<I", body, position + 1)[0], position + 5
        else:
            position += 1
            continue
        chunk = body[start : start + length]
        if length >= MIN_STRING and len(chunk) == length and _printable(chunk):
            yield chunk.decode("utf-8", "replace")
            position = start + length
        else:
            position += 1


def _printable(chunk: bytes) -> bool:
    return all(32 <= byte < 127 or byte in (9, 10, 13) or byte >= 0x80 for byte in chunk)
