"""The test tiers (docs/architecture.md, "The test tiers"): the main suite leaves out the tests
marked exhaustive, `--exhaustive` runs only them (and the property tests), and a test named on
the command line by its node id runs whatever its tier."""

from __future__ import annotations

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
