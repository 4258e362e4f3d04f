"""Run the same commands on a checkout and write every output to a folder, to diff two trees.

    python scripts/compare_outputs.py OUT            # write OUT/<command>.txt, one file each
    python scripts/compare_outputs.py OUT --jobs 1   # one command at a time (default: 2)
    diff -r BEFORE AFTER                             # identical, byte for byte, or a finding

Each file holds the command line, its exit status, its standard output and its standard error.
The commands are the ones a user runs: `check`, `explain` and `missing` on every example case in
each of their formats, `compile` of each bundled policy, `lint` (the bundled set, the third
policy example and each bad policy of the tests), `fmt --check`, the policy tests with coverage,
`policies`, and a bad case. They run through `python -m sijfasp` from the repository root, with
a cache folder of their own (emptied first), so that nothing an earlier run left behind shows.
Run it before and after a change that should not change behaviour (moving modules, say): no
output may differ, and no output names a module's path (the script checks that too).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# A path to one of the package's modules, in any output, is a finding: output does not name code.
MODULE_PATH = re.compile(r"sijfasp[/\\][\w/\\]*\.py\b")


def _commands() -> list[list[str]]:
    cases = sorted((ROOT / "examples" / "cases").glob("*.yaml")) + sorted(
        (ROOT / "examples" / "cases").glob("*.json")
    )
    third = ROOT / "examples" / "third_policy"
    commands: list[list[str]] = [
        ["--version"],
        ["policies"],
        ["policies", "--format", "json"],
        ["lint"],
        ["lint", *map(str, sorted(third.glob("*.si*")))],
        ["fmt", "--check", "policies_asp"],
        ["test"],
        ["test", "--coverage"],
        [
            "check",
            "--policies",
            str(third),
            *map(str, sorted((third / "tests" / "cases").glob("*"))),
        ],
    ]
    for policy in sorted((ROOT / "policies_asp").glob("*.sijp")):
        commands.append(["compile", str(policy)])
    for bad in sorted((ROOT / "tests" / "bad_policies").glob("*.sijp")):
        commands.append(["lint", str(bad)])
    for case in cases:
        for form in ("text", "json"):
            commands.append(["check", str(case), "--format", form])
        for command in ("explain", "missing"):
            for form in ("text", "json", "markdown"):
                commands.append([command, str(case), "--format", form])
    hostile = sorted((ROOT / "tests" / "hostile" / "cases").glob("*"))[:5]
    for case in hostile:
        commands.append(["check", str(case)])
    return [
        [str(Path(a).relative_to(ROOT)) if a.startswith(str(ROOT)) else a for a in c]
        for c in commands
    ]


def _name(command: list[str]) -> str:
    return (
        "sijfasp_" + re.sub(r"[^A-Za-z0-9._-]+", "_", " ".join(command)).strip("_")[:180] + ".txt"
    )


def _run(command: list[str], out: Path, environment: dict[str, str]) -> str | None:
    done = subprocess.run(
        [sys.executable, "-m", "sijfasp", *command],
        capture_output=True,
        cwd=ROOT,
        env=environment,
        timeout=600,
    )
    text = (
        b"$ sijfasp " + " ".join(command).encode() + b"\n"
        b"exit " + str(done.returncode).encode() + b"\n"
        b"--- stdout\n" + done.stdout + b"--- stderr\n" + done.stderr
    )
    (out / _name(command)).write_bytes(text)
    found = MODULE_PATH.search(text.decode("utf-8", "replace"))
    return f"{_name(command)}: names {found.group()}" if found else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the outputs (emptied first)")
    parser.add_argument("--jobs", type=int, default=2, help="commands run at once (default 2)")
    args = parser.parse_args(argv)
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as cache:
        environment = {**os.environ, "SIJFASP_CACHE_DIR": cache, "COLUMNS": "100"}
        for name in ("SIJFASP_POLICIES", "SIJFASP_NO_CACHE"):
            environment.pop(name, None)
        commands = _commands()
        with ThreadPoolExecutor(max(1, args.jobs)) as pool:
            findings = [
                f
                for f in pool.map(lambda c: _run(c, args.out, environment), commands)
                if f is not None
            ]
    print(f"{len(commands)} commands, outputs in {args.out}")
    for finding in findings:
        print(finding, file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
