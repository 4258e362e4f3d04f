"""Which version of a policy is in effect: the dates of each version, and the choice among them.

A policy id may have several versions, one file each. Each version has a general effective date
and may have its own date for a line of business (`effective for anthem_medicaid 2022-09-11`).
For a request date and a plan, the version in effect is the one whose date for that plan (its
own line, else the general date) is the latest on or before the request date; a tie goes to the
version with the later general date. No version may be in effect at all: the result then says
so, and no other version stands in for it. Pure logic on dates and names; no clingo.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .diagnostics import Code, Diagnostic, SijfaspError

if TYPE_CHECKING:
    from .policies import LoadedPolicy

# A version is written into output, file names and `--policy ID@VERSION`: short, no spaces, no
# `@`, no path separators.
VERSION_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
VERSION_SEPARATOR = "@"


def version_problem(text: str) -> str | None:
    """Why a version string cannot be used, or None."""
    if VERSION_PATTERN.fullmatch(text) is None:
        return (
            "a version is 1 to 40 letters, digits, '.', '_' or '-', beginning with a letter or "
            'digit, like "2022-06-12"'
        )
    return None


def plan_key(text: str) -> str:
    """A line of business in identifier form, as policy files name it: `Anthem Medicaid`,
    `anthem-medicaid` and `anthem_medicaid` are one plan."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    # Letters of any script are kept, so that two plans differing in one never become one.
    return re.sub(r"[\W_]+", "_", folded).strip("_")


def split_reference(text: str) -> tuple[str, str | None]:
    """`ID@VERSION` to (id, version); a plain `ID` to (id, None)."""
    policy_id, separator, version = text.partition(VERSION_SEPARATOR)
    return policy_id, (version if separator else None)


def reference(loaded: LoadedPolicy) -> str:
    return f"{loaded.policy.id}{VERSION_SEPARATOR}{loaded.policy.version}"


def effective_for(loaded: LoadedPolicy, plan: str | None) -> tuple[dt.date, bool]:
    """The date a version takes effect for a plan, and whether the plan's own line set it."""
    policy = loaded.policy
    if plan is not None:
        for name, date in policy.plan_effective:
            if name == plan:
                return date, True
    return policy.effective, False


def _order(loaded: LoadedPolicy) -> tuple[dt.date, str]:
    return loaded.policy.effective, loaded.policy.version


def ordered(policies: Iterable[LoadedPolicy]) -> list[LoadedPolicy]:
    """Versions grouped by policy id (ids in order of first appearance), oldest first within
    an id: by general effective date, then version."""
    groups = grouped(policies)
    return [v for versions in groups.values() for v in versions]


def grouped(policies: Iterable[LoadedPolicy]) -> dict[str, list[LoadedPolicy]]:
    """The versions of each policy id, ids in order of first appearance, oldest first."""
    groups: dict[str, list[LoadedPolicy]] = {}
    for loaded in policies:
        groups.setdefault(loaded.policy.id, []).append(loaded)
    return {i: sorted(versions, key=_order) for i, versions in groups.items()}


def latest(policies: Iterable[LoadedPolicy]) -> list[LoadedPolicy]:
    """The latest version of each policy id (by general effective date, then version)."""
    return [versions[-1] for versions in grouped(policies).values()]


def check_unique(policies: Sequence[LoadedPolicy]) -> None:
    """Two files declaring one id and one version: an error naming both files."""
    seen: dict[tuple[str, str], LoadedPolicy] = {}
    problems = []
    for loaded in policies:
        key = (loaded.policy.id, loaded.policy.version)
        first = seen.setdefault(key, loaded)
        if first is not loaded:
            problems.append(
                Diagnostic(
                    Code.DUPLICATE_NAME,
                    f"policy '{key[0]}' version '{key[1]}' is declared by both "
                    f"{first.policy.path} and {loaded.policy.path}",
                    hint="give each version its own 'version' (or effective date), or remove "
                    "one of the files",
                    file=loaded.policy.path,
                )
            )
    if problems:
        raise SijfaspError(problems)


@dataclass(frozen=True)
class Choice:
    """The version of one policy a case is judged under, and why; `chosen` is None when no
    version is in effect on the date for the plan."""

    policy_id: str
    on: dt.date  # the date the versions were compared on (the request date, or --as-of)
    plan: str | None  # the case's plan in identifier form, when it names one
    chosen: LoadedPolicy | None
    effective: dt.date | None  # the date that put the chosen version in effect
    plan_line: bool  # whether the plan's own `effective for` line set that date
    explicit: bool  # picked by `--policy ID@VERSION`, whatever its dates
    versions: tuple[LoadedPolicy, ...]  # every known version of the id, oldest first


def in_effect(
    versions: Sequence[LoadedPolicy], on: dt.date, plan: str | None = None
) -> LoadedPolicy | None:
    """The version in effect on a date for a plan, or None (see the module's rule)."""
    best: tuple[dt.date, dt.date, str] | None = None
    chosen = None
    for loaded in versions:
        date, _ = effective_for(loaded, plan)
        if date > on:
            continue
        key = (date, *_order(loaded))
        if best is None or key > best:
            best, chosen = key, loaded
    return chosen


def choose(
    policies: Iterable[LoadedPolicy],
    on: dt.date,
    plan: str | None = None,
    pinned: Iterable[str] = (),
) -> list[Choice]:
    """One choice per policy id, ids in order of first appearance. An id in `pinned` is judged
    by its only version given, whatever the dates (`--policy ID@VERSION`)."""
    plan = plan_key(plan) if plan is not None else None
    explicit = set(pinned)
    choices = []
    for policy_id, versions in grouped(policies).items():
        if policy_id in explicit and len(versions) == 1:
            chosen: LoadedPolicy | None = versions[0]
        else:
            chosen = in_effect(versions, on, plan)
        date, own = effective_for(chosen, plan) if chosen is not None else (None, False)
        choices.append(
            Choice(
                policy_id,
                on,
                plan,
                chosen,
                date,
                own,
                policy_id in explicit and chosen is not None,
                tuple(versions),
            )
        )
    return choices


def dates_text(loaded: LoadedPolicy) -> str:
    """`effective 2022-06-12; 2022-09-11 for anthem_medicaid`."""
    policy = loaded.policy
    plans = "".join(f"; {date.isoformat()} for {name}" for name, date in policy.plan_effective)
    return f"effective {policy.effective.isoformat()}{plans}"


__all__ = [
    "VERSION_PATTERN",
    "VERSION_SEPARATOR",
    "Choice",
    "check_unique",
    "choose",
    "dates_text",
    "effective_for",
    "grouped",
    "in_effect",
    "latest",
    "ordered",
    "plan_key",
    "reference",
    "split_reference",
    "version_problem",
]
