"""Expand rule examples written as templates, so the repository holds no real-looking secrets.

``ghp_{alnum:36}`` becomes ``ghp_`` and 36 pseudo-random alphanumerics, the same every run
for the same template (seeded by the template text), so failures are reproducible.
"""

from __future__ import annotations

import random
import re
import string

CHARSETS = {
    "alnum": string.ascii_letters + string.digits,
    "upper": string.ascii_uppercase,
    "lower": string.ascii_lowercase,
    "digit": string.digits,
    "hex": "0123456789abcdef",
    "HEX": "0123456789ABCDEF",
    "upalnum": string.ascii_uppercase + string.digits,
    "lowalnum": string.ascii_lowercase + string.digits,
    "b64": string.ascii_letters + string.digits + "+/",
    "b64url": string.ascii_letters + string.digits + "-_",
}
PLACEHOLDER = re.compile(r"\{(" + "|".join(CHARSETS) + r"):(\d+)(?:,\d+)?\}")


def expand(template: str, seed: str = "") -> str:
    """Replace every ``{charset:N}`` with N characters drawn from that charset (``{charset:N,M}``,
    a length range in a rule's ``shape``, with N)."""
    rng = random.Random(seed + template)

    def fill(match: re.Match[str]) -> str:
        alphabet = CHARSETS[match.group(1)]
        return "".join(rng.choice(alphabet) for _ in range(int(match.group(2))))

    return PLACEHOLDER.sub(fill, template)
