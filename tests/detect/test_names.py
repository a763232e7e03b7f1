"""Secrets in names (hubguard/detect/names.py): the keyword screen asked for every path
answers as a plain substring search would, and a token in any part of a path is redacted."""

from __future__ import annotations

import itertools

import pytest

from hubguard.detect.names import KeywordScreen, NameGuard
from hubguard.detect.rules import load_rules
from hubguard.model import hash_secret

KEYWORDS = ["key", "keyring", "ghp_", "xox", "a3t", "hooks.slack.com/services", "//npm.pkg/:_auth", "q~"]
PARTS = [
    "",
    "usr",
    "lib",
    "keyr",
    "monkey",
    "ghp",
    "_ghp_x",
    "hooks.slack.com",
    "services",
    "npm.pkg",
    ":_auth",
    "q",
    "~x",
]


def test_the_screen_answers_as_a_substring_search_whatever_it_has_kept():
    screen = KeywordScreen(KEYWORDS)
    for _ in range(2):  # the second round is answered from what the first kept
        for parts in itertools.product(PARTS, repeat=3):
            text = "/".join(parts)
            assert screen(text) == any(keyword in text for keyword in KEYWORDS), text


def test_without_keywords_nothing_is_held():
    assert KeywordScreen([])("/usr/lib/key") is False


@pytest.fixture(scope="module")
def guard() -> NameGuard:
    return NameGuard(load_rules())


@pytest.mark.parametrize("where", ["{t}/config", "/srv/{t}/app.env", "/srv/app/{t}.txt", "/srv/backup-{t}"])
def test_a_token_anywhere_in_a_path_is_redacted_and_reported(guard, fake_token, where):
    token = fake_token("ghp_{alnum:36}")
    hits: dict = {}
    shown = guard.shown(where.format(t=token), hits)
    assert token not in shown and token[:4] in shown
    assert [hit.hashed_secret for hit in hits.values()] == [hash_secret(token)]
    assert guard.shown(where.format(t=token)) == shown  # asked again: the same answer


def test_a_path_without_a_token_is_shown_as_it_is(guard):
    for path in ("/usr/share/keyrings/debian-archive-keyring.gpg", "/etc/ssh/ssh_host_rsa_key", "/app/x"):
        hits: dict = {}
        assert guard.shown(path, hits) == path and hits == {}


def test_names_asked_before_and_after_the_screen_is_built_are_redacted_alike(fake_token):
    """The first names go straight to the exact check; later ones through the screen."""
    guard = NameGuard(load_rules())
    guard.screen.after = 3
    token = fake_token("ghp_{alnum:36}")
    shown = [guard.shown(f"/srv/{name}/{token}.txt") for name in ("a", "b", "c", "d", "e")]
    assert not guard.screen.after and guard.screen.built
    assert all(token not in name and name.endswith(".txt") for name in shown)
    assert [guard.shown(f"/srv/{name}/plain.txt") for name in "ab"] == [
        "/srv/a/plain.txt",
        "/srv/b/plain.txt",
    ]
