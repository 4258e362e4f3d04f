"""Shared test setup (tests/ is on the import path through pytest's `pythonpath` setting)."""

from __future__ import annotations

import pytest
import support


@pytest.fixture
def base() -> dict:
    """A fresh copy of the fully documented example case."""
    return support.base_case()
