"""What a policy version may be written as: checked with the policy (semantics) and
when a command names one (`--policy ID@VERSION`)."""

from __future__ import annotations

import re

# A version is written into output, file names and `--policy ID@VERSION`: short, no spaces, no
# `@`, no path separators.
VERSION_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")


def version_problem(text: str) -> str | None:
    """Why a version string cannot be used, or None."""
    if VERSION_PATTERN.fullmatch(text) is None:
        return (
            "a version is 1 to 40 letters, digits, '.', '_' or '-', beginning with a letter or "
            'digit, like "2022-06-12"'
        )
    return None
