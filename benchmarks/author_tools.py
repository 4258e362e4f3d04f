"""How long the author's tools take on the bundled policies: `sijfasp diff` on a whole policy and
on a one-line edit, and `sijfasp test --mutate` on every bundled policy.

    python benchmarks/author_tools.py diff            # AIM against CareSource; a one-line edit
    python benchmarks/author_tools.py mutate [--workers N]   # every bundled policy's score

The one-line edit is CareSource's block threshold moved from 50 % to 60 % (the change issue 24
measured; the first of its three block record sets, D.I.B.7 for the joint), in a copy of the policy under another id, diffed against the bundled one. Each run
goes through `python -m sijfasp` as an author runs it, from a temporary folder; the figures are
the wall-clock seconds of the whole command, cold (an empty cache folder of its own), and the
CPU seconds it used.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / "policies_asp"
CARESOURCE = "caresource_sijf_2026"
EDIT = ("  with relief_percent >= 50\n", "  with relief_percent >= 60\n")


def _run(
    args: list[str], cwd: Path, cache: Path
) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall-clock and CPU seconds (user and system, of the command and its workers) of a run:
    on a machine shared with other work the CPU time is the steadier figure."""
    env = {**os.environ, "SIJFASP_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "sijfasp", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
    )
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done


def _headline(output: str) -> str:
    lines = output.splitlines()
    return lines[3] if len(lines) > 3 else output.strip()


def diff(folder: Path) -> None:
    edited = folder / "edit"
    edited.mkdir()
    shutil.copy(BUNDLE / "vocabulary.sijv", edited)
    text = (BUNDLE / f"{CARESOURCE}.sijp").read_text(encoding="utf-8")
    assert EDIT[0] in text, "the block threshold line moved: update EDIT"
    text = text.replace(EDIT[0], EDIT[1], 1).replace(
        f"policy {CARESOURCE} ", "policy caresource_edit "
    )
    (edited / "caresource_edit.sijp").write_text(text, encoding="utf-8")
    runs = {
        "AIM 2022 against CareSource 2026, whole policies": [
            "diff",
            "aim_sijf_2022",
            CARESOURCE,
            "--time-limit",
            "0",
        ],
        "CareSource against itself with one line changed (block relief 50% -> 60%)": [
            "diff",
            str(BUNDLE / f"{CARESOURCE}.sijp"),
            str(edited / "caresource_edit.sijp"),
            "--time-limit",
            "0",
        ],
    }
    for name, args in runs.items():
        seconds, cpu, done = _run(args, folder, folder / f"cache-{len(name)}")
        print(
            f"{name}: {seconds:.1f} s ({cpu:.1f} s of CPU), exit {done.returncode}: "
            f"{_headline(done.stdout)}"
        )
        print(f"    sijfasp {' '.join(args)}")


def mutate(folder: Path, workers: int) -> None:
    args = ["test", "--mutate", "--workers", str(workers)]
    seconds, cpu, done = _run(args, ROOT, folder / "cache")
    for line in done.stdout.splitlines():
        if line.startswith("mutants of") or "mutation score" in line or "survived" in line:
            print(line)
    print(
        f"every bundled policy: {seconds:.1f} s ({cpu:.1f} s of CPU) with --workers {workers} "
        f"(sijfasp {' '.join(args)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("diff", "mutate"))
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.what == "diff":
            diff(Path(tmp))
        else:
            mutate(Path(tmp), args.workers)


if __name__ == "__main__":
    main()
