"""Go's regexp as Python runs it: Docker translates each .dockerignore line to a Go regexp, and
hubguard matches it in linear time with RE2 (Go's own regexp design), translating the few
constructs Go and Python read differently (POSIX classes, undecodable bytes).
"""

from __future__ import annotations

import os
import re
import warnings
from functools import cache

from hubguard.errors import InputError

# Go regexp's POSIX classes, valid only inside [...]; Python's re has none of them.
_POSIX_CLASSES = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7f",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}


def go_regex_to_python(go_regex: str) -> str:
    """Go RE2 and Python ``re`` read this subset alike except POSIX classes; translate those."""
    out: list[str] = []
    position, length = 0, len(go_regex)
    in_class = False
    while position < length:
        char = go_regex[position]
        if char == "\\":
            out.append(go_regex[position : position + 2])
            position += 2
            continue
        if not in_class and char == "[":
            in_class = True
            out.append(char)
            position += 1
            if go_regex.startswith("^", position):
                out.append("^")
                position += 1
            if go_regex.startswith("]", position):  # a leading "]" is a literal in both
                out.append("\\]")
                position += 1
            continue
        if in_class and go_regex.startswith("[:", position):
            end = go_regex.find(":]", position + 2)
            name = go_regex[position + 2 : end] if end != -1 else ""
            if name in _POSIX_CLASSES:
                out.append(_POSIX_CLASSES[name])
                position = end + 2
                continue
        if in_class and char == "]":
            in_class = False
        elif in_class and char == "[":
            char = "\\["
        out.append(char)
        position += 1
    return "".join(out)


# Linear-time matching: RE2 (Go's own regexp design) when it is installed; Python's ``re``
# only as a fallback, since it backtracks exponentially on lines such as ``**/a*a*a*a*b``.
_SURROGATES = {code: 0xFFFD for code in range(0xDC80, 0xDD00)}  # undecodable bytes -> U+FFFD, as Go


class Regex:
    """An anchored regexp for one line, answering ``search(path)``."""

    def __init__(self, body: str) -> None:
        re2 = _re2()
        if re2 is not None:
            options = re2.Options()
            options.log_errors = False  # errors become one clear line, not log noise on stderr
            self._compiled = re2.compile("^" + body.translate(_SURROGATES) + "$", options)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # "[[" and "--" are literal in Go
                self._compiled = re.compile("^" + body + r"\Z", re.ASCII)
        self.search = self._compiled.search


def linear_regex(body: str) -> Regex:
    re2 = _re2()
    errors: tuple[type[BaseException], ...] = (re.error,) if re2 is None else (re2.error, re.error)
    try:
        return Regex(body)
    except errors as exc:
        raise InputError(f"invalid pattern: {_regex_problem(exc)}") from None


def _regex_problem(exc: BaseException) -> str:
    text = exc.args[0] if exc.args else str(exc)
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)


def for_regex(path: str) -> str:
    return path if path.isascii() else path.translate(_SURROGATES)


@cache
def _re2():  # type: ignore[no-untyped-def]
    if os.environ.get("HUBGUARD_PURE_PYTHON"):
        return None
    try:
        import re2
    except ImportError:
        return None
    return re2
