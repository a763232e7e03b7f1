"""Fixtures shared by the build-context tests."""

from __future__ import annotations

import pytest

from hubguard.context import ContextScanner
from tests.context.helpers import FakeToken


@pytest.fixture(scope="module")
def scanner() -> ContextScanner:
    return ContextScanner()


@pytest.fixture
def dotenv(fake_token: FakeToken) -> str:
    return f"API_TOKEN={fake_token('{alnum:32}')}\n"
