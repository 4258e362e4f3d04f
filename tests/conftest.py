"""Shared test setup (tests/ is on the import path through pytest's `pythonpath` setting)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path


def _bytecode_kept_outside_the_tree() -> None:
    """Where the environment turns bytecode off (PYTHONDONTWRITEBYTECODE), each test process and
    each command a test runs would compile the tests (pytest's assertion rewriting) and sijfasp's
    modules afresh: a few seconds a worker and a tenth of a second a command. The test run keeps
    that bytecode in a folder of its own instead, never beside the sources:
    `~/.cache/sijfasp-tests/bytecode` (under XDG_CACHE_HOME when set). Workers and commands
    inherit the setting through the environment."""
    if not os.environ.get("PYTHONDONTWRITEBYTECODE") or os.environ.get("PYTHONPYCACHEPREFIX"):
        return
    home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    folder = str(Path(home) / "sijfasp-tests" / "bytecode")
    os.environ["PYTHONPYCACHEPREFIX"] = folder
    del os.environ["PYTHONDONTWRITEBYTECODE"]
    sys.pycache_prefix, sys.dont_write_bytecode = folder, False


_bytecode_kept_outside_the_tree()

import pytest  # noqa: E402
import support  # noqa: E402

_CACHE_HOME = tempfile.mkdtemp(prefix="sijfasp-test-cache-")


EXHAUSTIVE_OPTION = "--exhaustive"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        EXHAUSTIVE_OPTION,
        action="store_true",
        help="run the exhaustive tier only: the tests marked exhaustive (whole sweeps whose narrow "
        "versions run in the main suite) and every property test at its full number of examples",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The main suite leaves out the exhaustive tier; `--exhaustive` runs only that tier (CI
    runs both, one after the other: docs/architecture.md, "The test tiers")."""
    exhaustive = config.getoption(EXHAUSTIVE_OPTION)
    # A test named on the command line by its node id (file and name, any of its parameters)
    # runs whatever its tier.
    named = [
        (Path(path).resolve(), name)
        for path, name in (a.split("::", 1) for a in config.args if "::" in a)
    ]
    kept, left = [], []
    for item in items:
        in_tier = item.get_closest_marker("exhaustive") is not None or (
            exhaustive and hasattr(getattr(item, "obj", None), "hypothesis")
        )
        name = item.nodeid.split("::", 1)[-1]
        asked = any(
            item.path == path and (name == wanted or name.startswith(wanted + "["))
            for path, wanted in named
        )
        (kept if in_tier == exhaustive or asked else left).append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept


def pytest_configure(config: pytest.Config) -> None:
    support.EXHAUSTIVE = bool(config.getoption(EXHAUSTIVE_OPTION))
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
