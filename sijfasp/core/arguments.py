"""Option values read from the command line, shared by `cli/` and by the batch's own options
(`batch/command.py`, a layer below the command line): one wording of a bad count wherever it is
given.
"""

from __future__ import annotations

import argparse


def parse_count(text: str | int) -> int:
    """A whole number of 0 or more (an option's default may already be one)."""
    return _whole_number(text, 0)


def parse_positive_count(text: str | int) -> int:
    """A whole number of 1 or more (a number of workers)."""
    return _whole_number(text, 1)


def _whole_number(text: str | int, minimum: int) -> int:
    if isinstance(text, int):
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected {minimum} or more")
    return value
