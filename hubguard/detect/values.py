"""Is an assigned value a secret, or a word, a reference or a placeholder?

The generic keyword-assignment rules (rules/generic.toml, ``value_checks = true``) see
``password: …`` in translation tables, Helm charts, logs and docs far more often than in
leaked configuration. These checks run per match, on the value alone (and its line for
reference context), so keyword-dense text costs a few microseconds a line and reports nothing.
"""

from __future__ import annotations

import re

# A line that hands the value over by reference: Kubernetes secretKeyRef / valueFrom, file and
# reference settings (*_FILE, *_ref, secretName), env and template references.
REFERENCE_LINE = re.compile(
    r"secretKeyRef|valueFrom|secretName|existingSecret|_FILE\b|_ref\b|Ref\b|\$\{|\{\{|%\(|#\{|@Value\(",
)
# Reference syntax inside the value itself: vault:secret/…, ref+…, arn:…, op://…, env:VAR.
REFERENCE_VALUE = re.compile(r"^(?:vault|ref\+\w+|arn|op|env|file|secretsmanager|ssm|awssm|gcpsm|k8s):", re.I)
PLACEHOLDER = re.compile(
    r"([x*#.0-])\1{3,}|\*{3}|redacted|changeme|change_me|placeholder|example|dummy|your[_-]|replace[_-]?me|"
    r"^(?:none|null|nil|undefined|true|false|empty|secret|password|token|required|optional)$",
    re.I,
)
WORD = re.compile(r"[^\W\d_]+")
WORD_PUNCTUATION = set("-_.' ?!¿¡,:;()？！。、・«»")


def is_natural_language(value: str) -> bool:
    """Dictionary-shaped words in any script: ``Passwort``, ``Contraseña``, ``パスワード``,
    ``Mot-de-passe``: letters and punctuation only, each word lower, Capitalised or UPPER (in
    scripts without case, any) — not mixed like ``aB3xQ``, and no digits."""
    words = WORD.findall(value)
    if not words or not set(WORD.sub("", value)) <= WORD_PUNCTUATION:
        return False
    return all(word.islower() or word.istitle() or word.isupper() or not word.isascii() for word in words)


# Names, not values: CamelCase words (``NextToken``, ``InvalidationList.NextMarker``), each of
# two letters or more after its capital, and ENV_VAR_NAMES (``AWS_SECRET_ACCESS_KEY``). Every
# word after the first starts with its capital, so a run of letters splits one way only (a
# pattern that could split it many ways backtracked for minutes on ``aaaa…a1``).
CAMEL_WORDS = r"(?:[a-z]{2,}|[A-Z][a-z]{2,})(?:[A-Z][a-z]{2,})*"
IDENTIFIER = re.compile(rf"{CAMEL_WORDS}(?:[./:-]{CAMEL_WORDS})*|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")


def is_identifier(value: str) -> bool:
    """A field, type or variable name given as the value (an API's ``"output_token":
    "NextToken"``, ``env_var = "AWS_SECRET_ACCESS_KEY"``): it names where a secret is."""
    return bool(IDENTIFIER.fullmatch(value))


def is_reference(value: str, line: str) -> bool:
    return bool(REFERENCE_VALUE.match(value) or REFERENCE_LINE.search(line))


def is_placeholder(value: str) -> bool:
    return bool(PLACEHOLDER.search(value))


# What a credential holds and a word does not: a digit, an ASCII symbol, or a capital letter
# after its first character. The generic rules' triggers (rules/generic.toml) require the same
# inside the value, so the engine's pass and this check agree (and --exhaustive with them).
SECRETISH = re.compile(r"[0-9!#%&+/=?@^~|,;:\[\]]|.[A-Z]")


def plausible_secret(value: str, line: str) -> bool:
    """The value could be a credential: not a word, a name, a reference or a placeholder."""
    if not SECRETISH.search(value):
        return False
    return not (
        is_natural_language(value)
        or is_identifier(value)
        or is_placeholder(value)
        or is_reference(value, line)
    )
