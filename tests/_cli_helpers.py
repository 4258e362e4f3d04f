"""Helpers for the command-line, golden-file and case-loader tests.

Private to the test modules that import it: running `python -m sijfasp` in a subprocess from the
repository root, writing case files, and comparing (or, with SIJFASP_UPDATE_GOLDEN=1, rewriting)
golden files.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
GOLDEN = TESTS / "golden"
BAD_POLICIES = TESTS / "bad_policies"
POLICIES_DIR = REPO / "policies_asp"
VOCABULARY = POLICIES_DIR / "vocabulary.sijv"
APPROVABLE = REPO / "examples" / "cases" / "approvable.yaml"

DETERMINATIONS = ("approvable", "excluded", "not_met", "incomplete", "not_applicable")
# The bundled policies these tests state expectations for. Others found in policies_asp/ are
# judged too, and only checked where a test speaks of every policy (bundled_ids()).
POLICY_IDS = ("aim_sijf_2022", "caresource_sijf_2026")


def bundled_ids() -> list[str]:
    """Every bundled policy's id, in the order the CLI lists them."""
    from sijfasp.policies import bundled_policies

    return [p.policy.id for p in bundled_policies()]


def update_golden() -> bool:
    """True when SIJFASP_UPDATE_GOLDEN=1: golden files are rewritten instead of compared."""
    return os.environ.get("SIJFASP_UPDATE_GOLDEN") == "1"


def check_golden(path: Path, actual: str) -> None:
    """Compare `actual` with the golden file at `path`, or rewrite it when asked to."""
    if update_golden():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    assert path.is_file(), (
        f"missing golden file {path.relative_to(REPO)}; "
        "run the tests with SIJFASP_UPDATE_GOLDEN=1 to create it"
    )
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, (
        f"output differs from {path.relative_to(REPO)} "
        "(if the change is intended, rerun with SIJFASP_UPDATE_GOLDEN=1 "
        "and review the diff)"
    )


def cli_command(*args: Any) -> list[str]:
    """The command line of `python -m sijfasp ARGS`."""
    return [sys.executable, "-m", "sijfasp", *(str(a) for a in args)]


def cli_env(**overrides: str) -> dict[str, str]:
    """The environment the CLI tests run in: UTF-8 output, 80 columns, plus `overrides`."""
    return {**os.environ, "PYTHONIOENCODING": "utf-8", "COLUMNS": "80", **overrides}


def run_cli(
    *args: Any,
    cwd: Path = REPO,
    timeout: float = 120,
    input: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """`python -m sijfasp ARGS` from `cwd`; text output, never raises on a non-zero exit."""
    return subprocess.run(
        cli_command(*args),
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env or cli_env(),
        timeout=timeout,
        input=input,
    )


def run_many(commands: list[tuple], cwd: Path = REPO) -> dict[tuple, subprocess.CompletedProcess]:
    """Run several `python -m sijfasp` commands side by side; results keyed by their arguments."""
    workers = max(2, min(8, (os.cpu_count() or 2) * 2))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {tuple(args): pool.submit(run_cli, *args, cwd=cwd) for args in commands}
    return {args: future.result() for args, future in futures.items()}


def approvable_case() -> dict:
    """The bundled approvable example as a fresh, mutable dict (YAML dates as dt.date)."""
    return copy.deepcopy(_APPROVABLE_DATA)


_APPROVABLE_DATA = yaml.safe_load(APPROVABLE.read_text(encoding="utf-8"))


def _plain_json(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def write_case(directory: Path, data: Any, name: str = "case.yaml") -> Path:
    """Write a case as YAML (or JSON when `name` ends in .json) and return its path."""
    path = directory / name
    if name.endswith(".json"):
        path.write_text(json.dumps(data, default=_plain_json, indent=1), encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def determinations(json_text: str) -> dict[str, str]:
    """policy id -> determination, from `check --format json` output."""
    data = json.loads(json_text)
    return {r["policy"]: r["determination"] for r in data["results"]}


def known_determinations(json_text: str) -> dict[str, str]:
    """determinations() of the policies in POLICY_IDS only, after checking every bundled policy
    got one."""
    found = determinations(json_text)
    assert set(found) <= set(bundled_ids())
    return {policy: d for policy, d in found.items() if policy in POLICY_IDS}
