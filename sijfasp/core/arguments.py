"""Option values read from the command line, shared by `cli/` and by the batch's own options
(`batch/command.py`, a layer below the command line): one wording of a bad count wherever it is
given.
"""

from __future__ import annotations

import argparse


def parse_count(text: str | int) -> int:
    """A whole number of 0 or more (an option's default may already be one)."""
    if isinstance(text, int):
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 0:
        raise argparse.ArgumentTypeError("expected 0 or more")
    return value
