"""Re-run the example commands shown in the docs and put their current output in place.

    python scripts/refresh_docs.py           # rewrite README.md and docs/*.md in place
    python scripts/refresh_docs.py --check   # exit 1 and list the blocks whose output changed

A fenced block is refreshed when every line starting with `$ ` runs `sijfasp` (a pipe into
another program is allowed) and nothing in it depends on a scene set elsewhere: blocks with
`echo $?`, paths under /tmp, or `compile --write` show a scratch copy's state and are left as
written. Commands run from the repository root with the bundled examples.
"""

from __future__ import annotations

import argparse
import itertools
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FENCE = "```"
SCENE = ("echo $?", "/tmp/", "compile --write")
ELLIPSIS = "..."
SHOWN_ROOT = "/home/me/sijfasp"


def _blocks(lines: list[str]) -> list[tuple[int, int]]:
    """(first, last) line indexes of each fenced block's body."""
    found, start = [], None
    for index, line in enumerate(lines):
        if line.startswith(FENCE):
            if start is None:
                start = index + 1
            else:
                found.append((start, index))
                start = None
    return found


def _refreshable(body: list[str]) -> bool:
    commands = [line for line in body if line.startswith("$ ")]
    # A file the repository does not have (`bad_case.yaml`) belongs to a scene set in the text.
    files = [
        word
        for command in commands
        for word in command.split()
        if word.endswith((".yaml", ".yml", ".json", ".sijp", ".sijv", ".jsonl"))
    ]
    return (
        bool(commands)
        and body[0].startswith("$ ")
        and all(c.startswith("$ sijfasp ") for c in commands)
        and not any(marker in line for line in body for marker in SCENE)
        and all((ROOT / name).exists() for name in files)
    )


def _run(command: str) -> list[str]:
    done = subprocess.run(
        ["bash", "-c", command], cwd=ROOT, capture_output=True, text=True, check=False
    )
    # The docs show a checkout at a neutral place, not the machine the docs were refreshed on.
    text = (done.stdout + done.stderr).replace(str(ROOT), SHOWN_ROOT)
    return text.rstrip("\n").split("\n")


def _trimmed_like(output: list[str], shown: list[str]) -> list[str]:
    """The fresh output, cut where the docs cut it. The docs show parts of a long output
    separated by `...` lines: the first part keeps as many lines as it shows, and each later
    part starts again at the line it starts with in the fresh output (kept as written when that
    line is gone, for a person to look at)."""
    if ELLIPSIS not in shown:
        return output
    parts: list[list[str]] = [[]]
    for line in shown:
        if line == ELLIPSIS:
            parts.append([])
        else:
            parts[-1].append(line)
    result = output[: len(parts[0])]
    position = len(result)
    for part in parts[1:]:
        result.append(ELLIPSIS)
        if not part:
            continue
        try:
            start = output.index(part[0], position)
        except ValueError:
            result += part
            continue
        result += output[start : start + len(part)]
        position = start + len(part)
    return result


def refresh(path: Path) -> tuple[str, list[int]]:
    lines = path.read_text(encoding="utf-8").split("\n")
    changed: list[int] = []
    for first, last in reversed(_blocks(lines)):
        body = lines[first:last]
        if not _refreshable(body):
            continue
        fresh: list[str] = []
        starts = [i for i, line in enumerate(body) if line.startswith("$ ")] + [len(body)]
        for here, following in itertools.pairwise(starts):
            fresh.append(body[here])
            fresh += _trimmed_like(_run(body[here][2:]), body[here + 1 : following])
        if fresh != body:
            changed.append(first)
            lines[first:last] = fresh
    return "\n".join(lines), sorted(changed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only report stale blocks")
    args = parser.parse_args(argv)
    stale = False
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text, changed = refresh(path)
        for first in changed:
            print(f"{path.relative_to(ROOT)}:{first}: output differs from a fresh run")
        if changed and not args.check:
            path.write_text(text, encoding="utf-8")
        stale = stale or bool(changed)
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
