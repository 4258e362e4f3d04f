"""Which version of a policy is in effect: the dates of each version, and the choice among them.

A policy id may have several versions, one file each. Each version has a general effective date
and may have its own date for a line of business (`effective for medicaid 2022-09-11`; the lines
are kinds.LineOfBusiness). For a request date and the case's line of business, the version in
effect is the one whose date for that line (its own line, else the general date) is the latest
on or before the request date; a tie goes to the version with the later general date (two
versions with one general date, or one date for one line, are an error: `check_unique`). No
version may be in effect at all: the result then says so, and no other version stands in for
it. A case that does not document its line of business, when the line would decide the version,
gets no version (`Choice.undecided` says which version each line would take). Pure logic on dates
and names; no clingo.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..core.diagnostics import Code, Diagnostic, SijfaspError, did_you_mean
from ..core.kinds import LineOfBusiness, line_words
from ..language.version_syntax import VERSION_PATTERN, version_problem

if TYPE_CHECKING:
    from .loaded import LoadedPolicy

VERSION_SEPARATOR = "@"


LINES_OF_BUSINESS = tuple(line.value for line in LineOfBusiness)


def line_problem(name: str) -> tuple[str, str] | None:
    """Why an `effective for NAME` line names no line of business, with a hint; or None."""
    if name in LINES_OF_BUSINESS:
        return None
    # `anthem_medicaid`: a plan's name holding a line of business names that line.
    inside = [line for line in LINES_OF_BUSINESS if line in name.split("_") or line in name]
    hint = (
        f"did you mean '{max(inside, key=len)}'?"
        if inside
        else did_you_mean(name, LINES_OF_BUSINESS) or "a case names its plan's line of business"
    )
    return (
        f"'{name}' is not a line of business: 'effective for' names one of "
        f"{', '.join(LINES_OF_BUSINESS)}, never a plan",
        hint + " (cases document line_of_business; a plan's name is not read)",
    )


def split_reference(text: str) -> tuple[str, str | None]:
    """`ID@VERSION` to (id, version); a plain `ID` to (id, None)."""
    policy_id, separator, version = text.partition(VERSION_SEPARATOR)
    return policy_id, (version if separator else None)


def reference(loaded: LoadedPolicy) -> str:
    return f"{loaded.policy.id}{VERSION_SEPARATOR}{loaded.policy.version}"


def effective_for(loaded: LoadedPolicy, line: str | None) -> tuple[dt.date, bool]:
    """The date a version takes effect for a line of business, and whether the version's own
    line for it set that date."""
    policy = loaded.policy
    if line is not None:
        for name, date in policy.plan_effective:
            if name == line:
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
    """Two files declaring one id and one version: an error naming both files. Two versions of
    one id taking effect on one date, in general or for one line of business: an error too, since
    nothing but the version's name could then choose between them."""
    seen: dict[tuple[str, str], LoadedPolicy] = {}
    dates: dict[tuple[str, str | None, dt.date], LoadedPolicy] = {}
    problems = []
    for loaded in policies:
        policy = loaded.policy
        key = (policy.id, policy.version)
        first = seen.setdefault(key, loaded)
        if first is not loaded:
            problems.append(
                Diagnostic(
                    Code.DUPLICATE_NAME,
                    f"policy '{key[0]}' version '{key[1]}' is declared by both "
                    f"{first.policy.path} and {policy.path}",
                    hint="give each version its own 'version' (or effective date), or remove "
                    "one of the files",
                    file=policy.path,
                )
            )
            continue
        lines: list[tuple[str | None, dt.date]] = [(None, policy.effective)]
        lines += list(policy.plan_effective)
        for line, date in lines:
            other = dates.setdefault((policy.id, line, date), loaded)
            if other is loaded:
                continue
            whose = f" for {line}" if line is not None else ""
            problems.append(
                Diagnostic(
                    Code.DUPLICATE_NAME,
                    f"versions '{other.policy.version}' ({other.policy.path}) and "
                    f"'{policy.version}' ({policy.path}) of policy '{policy.id}' both take effect "
                    f"on {date.isoformat()}{whose}: no date tells which one is in effect",
                    hint="give the later version its own effective date, or remove one of the "
                    "files",
                    file=policy.path,
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
    plan: str | None  # the case's line of business (kinds.LineOfBusiness), when it names one
    chosen: LoadedPolicy | None
    effective: dt.date | None  # the date that put the chosen version in effect
    plan_line: bool  # whether the version's own `effective for` line set that date
    explicit: bool  # picked by `--policy ID@VERSION`, whatever its dates
    versions: tuple[LoadedPolicy, ...]  # every known version of the id, oldest first
    # The line of business is not documented and decides the version: (line, the version it
    # would take or None) for each line a version names, then (None, ...) for every other line.
    undecided: tuple[tuple[str | None, str | None], ...] = ()


def in_effect(
    versions: Sequence[LoadedPolicy], on: dt.date, line: str | None = None
) -> LoadedPolicy | None:
    """The version in effect on a date for a line of business, or None (the module's rule)."""
    best: tuple[dt.date, dt.date, str] | None = None
    chosen = None
    for loaded in versions:
        date, _ = effective_for(loaded, line)
        if date > on:
            continue
        key = (date, *_order(loaded))
        if best is None or key > best:
            best, chosen = key, loaded
    return chosen


def by_line(
    versions: Sequence[LoadedPolicy], on: dt.date
) -> tuple[tuple[str | None, LoadedPolicy | None], ...]:
    """The version each line of business would take on a date: each line a version names,
    then None for every other line (left out when every line is named)."""
    named = sorted({line for v in versions for line, _ in v.policy.plan_effective})
    lines: list[str | None] = list(named)
    if len(named) < len(LINES_OF_BUSINESS):
        lines.append(None)
    return tuple((line, in_effect(versions, on, line)) for line in lines)


def choose(
    policies: Iterable[LoadedPolicy],
    on: dt.date,
    line: str | None = None,
    pinned: Iterable[str] = (),
) -> list[Choice]:
    """One choice per policy id, ids in order of first appearance. An id in `pinned` is judged
    by its only version given, whatever the dates (`--policy ID@VERSION`). Without a line of
    business (`line` None), a policy whose versions differ by line on the date has no version
    chosen, and its choice says which each line would take (`undecided`)."""
    explicit = set(pinned)
    choices = []
    for policy_id, versions in grouped(policies).items():
        undecided: tuple[tuple[str | None, str | None], ...] = ()
        if policy_id in explicit and len(versions) == 1:
            chosen: LoadedPolicy | None = versions[0]
        else:
            chosen = in_effect(versions, on, line)
            if line is None:
                each = by_line(versions, on)
                if len({id(v) for _, v in each}) > 1:
                    chosen = None
                    undecided = tuple(
                        (n, v.policy.version if v is not None else None) for n, v in each
                    )
        date, own = effective_for(chosen, line) if chosen is not None else (None, False)
        choices.append(
            Choice(
                policy_id,
                on,
                line,
                chosen,
                date,
                own,
                policy_id in explicit and chosen is not None,
                tuple(versions),
                undecided,
            )
        )
    return choices


def dates_text(loaded: LoadedPolicy) -> str:
    """`effective 2022-06-12; 2022-09-11 for Medicaid`."""
    policy = loaded.policy
    plans = "".join(
        f"; {date.isoformat()} for {line_words(name)}" for name, date in policy.plan_effective
    )
    return f"effective {policy.effective.isoformat()}{plans}"


__all__ = [
    "LINES_OF_BUSINESS",
    "VERSION_PATTERN",
    "VERSION_SEPARATOR",
    "Choice",
    "by_line",
    "check_unique",
    "choose",
    "dates_text",
    "effective_for",
    "grouped",
    "in_effect",
    "latest",
    "line_problem",
    "line_words",
    "ordered",
    "reference",
    "split_reference",
    "version_problem",
]
