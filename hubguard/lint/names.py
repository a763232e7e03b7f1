"""Which ARG / ENV / workflow names say they hold a secret, judged with the words the token
rules already use for secret settings (DB_PASSWORD, API_KEY, client_secret), not a second list."""

from __future__ import annotations

import re

from hubguard.detect.rules import RuleSet
from hubguard.errors import InputError

# The token rules whose keywords name a secret setting (DB_PASSWORD, API_KEY, client_secret):
# ARG / ENV names are judged with the same words, not a second list.
NAME_KEYWORD_RULES = ("generic-secret-env", "generic-secret-assignment")
# Words that may follow the secret word in a name (SECRET_KEY_BASE, TOKEN_VALUE), as in those
# rules' regular expression; any other tail (TOKEN_URL, PASSWORD_FILE) names something else.
NAME_TAIL = frozenset({"key", "base", "value", "salt", "str", "string", "b64", "base64", "secret", "token"})
PUBLIC_WORD = "public"  # NEXT_PUBLIC_API_KEY is public by design (Docker's check exempts it too)


def secret_words(rules: RuleSet) -> tuple[str, ...]:
    words = {
        keyword.replace("-", "_")
        for rule in rules.token_rules
        if rule.id in NAME_KEYWORD_RULES
        for keyword in rule.keywords
    }
    if not words:
        raise InputError(f"the rule packs define none of {', '.join(NAME_KEYWORD_RULES)} (secret words)")
    return tuple(sorted(words))


def looks_secret(name: str, words: tuple[str, ...]) -> bool:
    """Whether a variable name says it holds a secret: a secret word (or a word ending in one:
    DBPASSWORD) followed by nothing but NAME_TAIL words. NPM_TOKEN, DB_PASSWORD, SECRET_KEY_BASE
    and AWS_SECRET_ACCESS_KEY do; TOKEN_URL, PASSWORD_FILE and NEXT_PUBLIC_API_KEY do not."""
    parts = [part for part in re.split(r"[^a-z0-9]+", name.lower()) if part]
    if PUBLIC_WORD in parts:
        return False
    for end in range(len(parts)):
        if all(part in NAME_TAIL for part in parts[end + 1 :]) and len(parts) - end - 1 <= 2:
            for word in words:
                pieces = word.split("_")
                if len(pieces) > 1:
                    if parts[end - len(pieces) + 1 : end + 1] == pieces:
                        return True
                elif parts[end] in (word, word + "s") or (len(word) >= 5 and parts[end].endswith(word)):
                    return True
    return False
