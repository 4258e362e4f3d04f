"""The test tiers (docs/architecture.md, "The test tiers"): the main suite leaves out the tests
marked exhaustive, `--exhaustive` runs only them (and the property tests), and a test named on
the command line by its node id runs whatever its tier."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _collected(*args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return [line for line in done.stdout.splitlines() if "::" in line]


@pytest.mark.slow  # three collections in processes of their own
def test_the_tiers_split_a_file_and_a_named_test_runs_whatever_its_tier():
    main = _collected("tests/test_worst_cases.py")
    exhaustive = _collected("tests/test_worst_cases.py", "--exhaustive")
    assert "tests/test_worst_cases.py::test_diagnostic_blocks_without_their_relief[40]" in main
    assert "tests/test_worst_cases.py::test_diagnostic_blocks_without_their_relief[300]" not in main
    assert exhaustive == [
        "tests/test_worst_cases.py::test_diagnostic_blocks_without_their_relief[300]",
        "tests/test_worst_cases.py::test_overlapping_open_programs[400]",
    ]
    named = _collected("tests/test_worst_cases.py::test_diagnostic_blocks_without_their_relief")
    assert named == [
        "tests/test_worst_cases.py::test_diagnostic_blocks_without_their_relief[40]",
        "tests/test_worst_cases.py::test_diagnostic_blocks_without_their_relief[300]",
    ]


GROUPED = """
import os

import pytest


@pytest.mark.xdist_group("one")
@pytest.mark.parametrize("n", range(6))
def test_grouped(n):
    with open(os.environ["WORKERS_SEEN"], "a") as seen:
        seen.write(os.environ.get("PYTEST_XDIST_WORKER", "none") + "\\n")
"""


@pytest.mark.slow  # a pytest run with two workers of its own
def test_tests_of_one_xdist_group_run_on_one_worker(tmp_path):
    """The suite's costly module fixtures are shared through `xdist_group` and `--dist
    loadgroup` (pyproject.toml): the tests of one group must run on one worker, or each worker
    works the fixture out again (pytest 9.2 with pytest-xdist 3.8 stops grouping, silently)."""
    (tmp_path / "test_grouped.py").write_text(GROUPED, encoding="utf-8")
    seen = tmp_path / "seen.txt"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2"]
        + ["--dist", "loadgroup", "-c", "/dev/null", "--rootdir", str(tmp_path), str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "WORKERS_SEEN": str(seen)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    workers = seen.read_text(encoding="utf-8").split()
    assert len(workers) == 6 and len(set(workers)) == 1, workers
