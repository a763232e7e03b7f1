"""Token rules written as the vendor documents the token: a ``shape`` template.

Most provider tokens are a fixed prefix and a run of characters from one alphabet
(``dckr_pat_`` and 27 base64url characters). A pack states that fact once, in the same
template language as the examples (``dckr_pat_{b64url:27}``; ``{alnum:20,40}`` for a range),
and this module derives what a hand-written rule repeats: the regex with a boundary on both
sides (so ``Soghu_…`` inside a word is no ``ghu_`` token), the prefilter keyword, and the
positive and negative examples the self-test runs. A token without a prefix of its own names
the words it is assigned to (``near = ["mapbox"]``): then only ``MAPBOX_TOKEN = "…"`` counts.
"""

from __future__ import annotations

import re

CLASSES = {
    "alnum": "A-Za-z0-9",
    "upper": "A-Z",
    "lower": "a-z",
    "digit": "0-9",
    "hex": "0-9a-f",
    "HEX": "0-9A-F",
    "upalnum": "A-Z0-9",
    "lowalnum": "a-z0-9",
    "b64": "A-Za-z0-9+/",
    "b64url": "A-Za-z0-9_-",
}
PART = re.compile(r"\{(" + "|".join(CLASSES) + r"):(\d+)(?:,(\d+))?\}")
WORD = "A-Za-z0-9_"
EDGE_EXTRA = {"b64": "+/", "b64url": r"\-"}  # beyond word characters
# Between the name a value is assigned to and the value: `=`, `:`, `=>`, `:=`, quotes, spaces.
ASSIGNMENT = r"""[\w.-]{0,32}+["'`]?\s{0,4}(?:=>|:=|[:=]|\s)\s{0,4}["'`]?"""
MIN_PREFIX = 3  # a shorter fixed part is not distinctive enough without `near`


def shape_regex(shape: str, near: tuple[str, ...] = ()) -> str:
    """The regex for ``shape``: group ``secret`` is the token, bounded on both sides."""
    body = []
    position = 0
    for part in PART.finditer(shape):
        body.append(re.escape(shape[position : part.start()]))
        low, high = part.group(2), part.group(3)
        body.append(f"[{CLASSES[part.group(1)]}]{{{low}{',' + high if high else ''}}}")
        position = part.end()
    body.append(re.escape(shape[position:]))
    secret = f"(?<![{_edge(shape, first=True)}])(?P<secret>{''.join(body)})(?![{_edge(shape, first=False)}])"
    if not near:
        return secret
    words = "|".join(re.escape(word) for word in near)
    return f"(?i:{words}){ASSIGNMENT}{secret}"


# What a ``near`` token follows in a trigger: the last character ASSIGNMENT can end with (an
# operator, a quote, a space; a Unicode space ends in a byte over 0x7f).
ASSIGNED = r"""(?:[=:>"'`\t\x0b-\r ]|[^\x00-\x7f])"""
TRIGGER_RUN = 16  # a trigger asks for this much of a longer random part (see shape_trigger)


def shape_trigger(shape: str, near: tuple[str, ...] = ()) -> str:
    """The rule's pattern in the prefilter pass: the ``near`` words, anything on the same
    line, the end of an assignment (``ASSIGNED``), then the token up to the first random part
    longer than ``TRIGGER_RUN`` after a fixed text, of which that many characters (a random
    part before any fixed text is ``+``).
    Every line the rule matches has this, and a line that merely names the vendor
    (``"client_secret": "Geheimnis"``) does not; no counted gap between name and token, and no
    boundary checks, keep it cheap in one automaton with hundreds of others."""
    body = []
    position, anchored = 0, bool(near)  # anchored: a fixed text comes before this point
    for part in PART.finditer(shape):
        body.append(re.escape(shape[position : part.start()]))
        anchored = anchored or part.start() > position
        low, alphabet = int(part.group(2)), CLASSES[part.group(1)]
        position = part.end()
        if not anchored:
            body.append(f"[{alphabet}]+")  # a leading random part: the fixed text after it anchors
        elif low > TRIGGER_RUN:
            body.append(f"[{alphabet}]{{{TRIGGER_RUN}}}")
            break
        else:
            body.append(f"[{alphabet}]{{{low}}}")
    else:
        body.append(re.escape(shape[position:]))
    if not near:
        return "".join(body)
    words = "|".join(re.escape(word) for word in near)
    return f"(?:{words})[^\\n]*{ASSIGNED}{''.join(body)}"


def shape_keywords(shape: str, near: tuple[str, ...]) -> tuple[str, ...]:
    """The prefilter keywords: the ``near`` words, else the longest fixed part of the token
    (its prefix, mostly; ``:APA91b`` rather than ``AAAA`` for a Firebase key)."""
    if near:
        return tuple(word.lower() for word in near)
    fixed = max(PART.split(shape)[::4], key=len)
    if len(fixed) < MIN_PREFIX:
        raise ValueError(f"shape {shape!r}: a fixed part under {MIN_PREFIX} characters needs `near` words")
    return (fixed.lower(),)


def literal_prefix(shape: str) -> str:
    match = PART.search(shape)
    return shape[: match.start()] if match else shape


def shape_examples(rule_id: str, shape: str, near: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Positive and negative example templates derived from the shape.

    Negatives: the token cut short, the token glued to a preceding word, and (for ``near``
    rules) the token assigned to an unrelated name.
    """
    name = rule_id.upper().replace("-", "_")
    if near:
        positive = [f'{word.upper()}_KEY = "{shape}"' for word in near]
        negative = [f'OTHER_SETTING = "{shape}"', f'{near[0].upper()}_KEY = "{_shortened(shape)}"']
    else:
        positive = [f"{name}={shape}"]
        negative = [f"{name}={_shortened(shape)}", f"{name}=abcde{shape}"]
    return positive, negative


def _shortened(shape: str) -> str:
    """The shape with its longest random part halved."""
    parts = list(PART.finditer(shape))
    longest = max(parts, key=lambda part: int(part.group(2)))
    half = max(1, int(longest.group(2)) // 2)
    return f"{shape[: longest.start()]}{{{longest.group(1)}:{half}}}{shape[longest.end() :]}"


def _edge(shape: str, *, first: bool) -> str:
    """Characters that may not touch the token on that side: word characters, plus the
    alphabet of a random part sitting at that edge (``+/`` for base64, ``-`` for base64url)."""
    parts = list(PART.finditer(shape))
    if not parts:
        return WORD
    part = parts[0] if first else parts[-1]
    at_edge = part.start() == 0 if first else part.end() == len(shape)
    return WORD + (EDGE_EXTRA.get(part.group(1), "") if at_edge else "")
