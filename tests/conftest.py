"""Shared test setup (tests/ is on the import path through pytest's `pythonpath` setting)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import support

_CACHE_HOME = tempfile.mkdtemp(prefix="sijfasp-test-cache-")


def pytest_configure(config: pytest.Config) -> None:
    # The tests and the runs they start keep their caches (core/user_cache.py) in a folder of their
    # own, never in the user's cache directory; tests of the caches choose their own folders.
    # Parallel workers (pytest-xdist) share the folder of the run that started them, so the
    # bundled policies are compiled once per run rather than once per worker.
    os.environ.pop("SIJFASP_CACHE_DIR", None)
    if not hasattr(config, "workerinput"):
        os.environ["SIJFASP_TEST_CACHE_HOME"] = _CACHE_HOME
    os.environ["XDG_CACHE_HOME"] = os.environ.get("SIJFASP_TEST_CACHE_HOME", _CACHE_HOME)


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_CACHE_HOME, ignore_errors=True)


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """A cache folder of the test's own (SIJFASP_CACHE_DIR), with caching on."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("SIJFASP_CACHE_DIR", str(folder))
    monkeypatch.delenv("SIJFASP_NO_CACHE", raising=False)
    return folder


@pytest.fixture
def base() -> dict:
    """A fresh copy of the fully documented example case."""
    return support.base_case()
