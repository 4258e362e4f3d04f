"""Shared test setup: the helpers in tests/support.py are importable as `support`."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

import support  # noqa: E402


@pytest.fixture
def base() -> dict:
    """A fresh copy of the fully documented example case."""
    return support.base_case()
