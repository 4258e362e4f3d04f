"""The outputs for people of every example case, as goldens: what a reviewer and a provider's
office read, checked word for word by tests/test_letter_goldens.py.

    python scripts/refresh_letter_goldens.py           # rewrite tests/golden/letters/
    python scripts/refresh_letter_goldens.py --check   # exit 1 and list the files that differ

For each case in examples/cases, and in tests/letter_cases (cases the letters once got wrong:
a record's side not documented, a bilateral request, a study too old, a named payer with an
advisory): `check` and `explain` as text, `explain --format markdown`, and
the letter of `missing --format markdown --today 2026-07-16`, each run through the command line
(in this process) from the repository root with the bundled policies. Regenerate after a change
of policy, vocabulary or wording, read the diff, and commit the goldens with the change.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "examples" / "cases"
LETTER_CASES = ROOT / "tests" / "letter_cases"
GOLDEN = ROOT / "tests" / "golden" / "letters"
TODAY = "2026-07-16"
# (suffix of the golden file, the command's arguments after the case file)
OUTPUTS = (
    ("check.txt", ("check",), ()),
    ("explain.txt", ("explain",), ()),
    ("explain.md", ("explain",), ("--format", "markdown")),
    ("letter.md", ("missing",), ("--format", "markdown", "--today", TODAY)),
)


def case_files() -> list[Path]:
    return [
        p
        for folder in (CASES, LETTER_CASES)
        for p in sorted(folder.iterdir())
        if p.suffix in (".yaml", ".json")
    ]


def run(argv: list[str]) -> str:
    """One command's standard output, run in this process from the repository root."""
    sys.path.insert(0, str(ROOT))
    from sijfasp.cli import main as cli

    out = io.StringIO()
    here = Path.cwd()
    os.chdir(ROOT)
    try:
        with contextlib.redirect_stdout(out):
            status = cli.main(argv)
    finally:
        os.chdir(here)
    if status != 0:
        raise SystemExit(f"sijfasp {' '.join(argv)}: exit {status}")
    return out.getvalue()


def outputs() -> dict[str, str]:
    """Every golden's name and its current text."""
    found = {}
    for case in case_files():
        relative = str(case.relative_to(ROOT))
        for suffix, command, options in OUTPUTS:
            name = f"{case.stem}{'.json' if case.suffix == '.json' else ''}.{suffix}"
            found[name] = run([*command, relative, *options])
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on a change")
    args = parser.parse_args(argv)
    current = outputs()
    if args.check:
        changed = [
            name
            for name, text in current.items()
            if not (GOLDEN / name).exists() or (GOLDEN / name).read_text(encoding="utf-8") != text
        ]
        stale = sorted(p.name for p in GOLDEN.glob("*") if p.name not in current)
        for name in changed + stale:
            print(f"differs: {name}")
        return 1 if changed or stale else 0
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for stale in GOLDEN.glob("*"):
        if stale.name not in current:
            stale.unlink()
    for name, text in current.items():
        (GOLDEN / name).write_text(text, encoding="utf-8")
    print(f"{len(current)} goldens written to {GOLDEN.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
