"""Documented records that nearly belong to a record set, each with what it misses: the solver
names the failing fields (near_miss/3); this module words the conditions on them against the
record's documented values ("relief 60%, needs 75% or more").
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import NamedTuple

from ..core.kinds import BOTH_SIDES, Operator, World
from ..core.units import scaled, unscaled
from ..core.wording import lower_first, plain_words, value_words
from ..language.compiler import (
    FACT_WINDOW_MONTHS,
    CmpCondition,
    CompiledPolicy,
    Condition,
    HasCondition,
    InCondition,
    MatchesCondition,
    OrderCondition,
    WithinCondition,
    WithinFactMonthsCondition,
    WithinMonthsCondition,
)
from ..solve.atoms import RecordRef, Snapshot
from ..solve.case_facts import months_before
from .snapshot_reader import SIDES, Reader, note_order_dates, side_words

MAX_NEAR_MISSES = 3


class Miss(NamedTuple):
    """A condition a record misses, in words; `condition` None: a field no condition could be
    worded for; `documented`: the record documents the field (it fails, not only lacks it)."""

    condition: Condition | None
    text: str
    documented: bool = True


NEARLY_WORDS = "does not count:"  # how a record that nearly qualifies is introduced, for people


def near_miss_lines(
    reader: Reader,
    snapshot: Snapshot,
    set_id: str,
    skip: set[RecordRef] | None = None,
    plain: bool = False,
) -> list[str]:
    """The documented records of the right kind that nearly belong to a record set, each with
    the conditions they miss and their documented values, as the solver found them. Records in
    `skip` (attempts already quoted as failed) are not listed again.

    The nearest come first: a record that fails only by its date or its side (a study too old,
    an injection of the other joint), then by how few conditions it misses. Every record that
    fails only by its date or side is named, whatever their number, so that a record on file is
    never asked for again without a word; the others fill up to MAX_NEAR_MISSES."""
    note_order_dates(reader, snapshot)
    inside = set(snapshot.members(World.DOC, set_id)) | (skip or set())
    found: dict[RecordRef, list[str]] = {}
    nearest: set[RecordRef] = set()  # records some filter misses only by their date or side
    for each in set_and_included(reader.compiled, set_id):
        for record, fields in snapshot.near_misses(each).items():
            if record in inside:
                continue
            misses = found.setdefault(record, [])
            groups = miss_groups(reader, each, record, fields, plain)
            near = [g for g in groups if only_date_or_side(g)]
            if near and record not in nearest:
                # Why it does not count is its date or side: the other filters' misses would
                # only hide it ("right joint, needs the left joint or both joints").
                nearest.add(record)
                misses.clear()
            for group in near or ([] if record in nearest else groups):
                misses += [m.text for m in group if m.text not in misses]
    ordered = sorted(
        found.items(),
        key=lambda pair: (pair[0] not in nearest, len(pair[1]), pair[0].kind, pair[0].index),
    )
    shown = ordered[: max(len(nearest), MAX_NEAR_MISSES)]
    name = reader.record_words if plain else reader.record_text
    lines = [
        f"{NEARLY_WORDS if plain else 'nearly:'} {name(record)}: {'; '.join(misses)}"
        for record, misses in shown
    ]
    if len(ordered) > len(shown):
        more = len(ordered) - len(shown)
        lines.append(
            f"... and {more} more "
            + ("record that nearly qualifies" if more == 1 else "records that nearly qualify")
        )
    return lines


# The conditions a record can fail "only by its date or side": a window of dates, and the side
# of the joint (a set of sides, or the requested side).
_DATE_CONDITIONS = (WithinCondition, WithinMonthsCondition, WithinFactMonthsCondition)


def by_date_or_side(condition: Condition | None) -> bool:
    """Whether a condition is on a record's date (a window) or on its side."""
    if isinstance(condition, _DATE_CONDITIONS):
        return True
    if isinstance(condition, MatchesCondition):
        return condition.target == "request.side"
    return isinstance(condition, InCondition) and condition.field == "side"


def only_date_or_side(misses: Iterable[Miss]) -> bool:
    """Whether a record fails only by its date or its side: every condition it misses (one at
    least) is on a documented date or side."""
    found = list(misses)
    return bool(found) and all(m.documented and by_date_or_side(m.condition) for m in found)


# How the words of a date miss begin, and the verb a sentence about the record puts before them.
_DATE_VERBS = {"ended on": "", "started on": "", "dated": "is ", "more than": "is "}


def why_sentence(subject: str, why: str) -> str:
    """A record and why it does not count, as one sentence: "the physical therapy starting
    2022-09-01 ended on 2023-04-01, before ...", "the CT of 2025-12-01 is more than 6 months
    before the request", "the injection of 2026-05-05 does not count: left joint, needs ..."."""
    for start, verb in _DATE_VERBS.items():
        if why.startswith(start):
            return f"{subject} {verb}{why}"
    return f"{subject} does not count: {why}"


def set_and_included(compiled: CompiledPolicy, set_id: str) -> list[str]:
    order: list[str] = []
    stack = [set_id]
    while stack:
        current = stack.pop()
        if current in order or current not in compiled.record_sets:
            continue
        order.append(current)
        stack.extend(reversed(compiled.record_sets[current].includes))
    return order


def miss_texts(
    reader: Reader, set_id: str, record: RecordRef, fields: list[str], plain: bool = False
) -> list[str]:
    """What a record misses, in words, on the fields the solver found failing."""
    return [m.text for m in miss_parts(reader, set_id, record, fields, plain)]


def miss_parts(
    reader: Reader, set_id: str, record: RecordRef, fields: list[str], plain: bool = False
) -> list[Miss]:
    """What a record misses on the fields the solver found failing, each condition once."""
    parts: list[Miss] = []
    for group in miss_groups(reader, set_id, record, fields, plain):
        parts += [m for m in group if m.text not in (p.text for p in parts)]
    return parts


def miss_groups(
    reader: Reader, set_id: str, record: RecordRef, fields: list[str], plain: bool = False
) -> list[list[Miss]]:
    """What a record misses on the fields the solver found failing, filter by filter.

    The solver names the fields; the words need the condition itself. A set may have several
    filters (and a filter several conditions on one field), so the conditions worded are those
    of the filters whose failing conditions are all on those fields; only the wording is
    chosen here.
    """
    found = reader.case.record(record.kind, record.index)
    values = found.values if found is not None else {}
    wanted = set(fields)

    def miss(c: Condition) -> Miss:
        value = values.get(c.field)
        return Miss(c, _miss_text(reader, c, value, record.kind, plain), value is not None)

    groups: list[list[Miss]] = []
    for conditions in reader.compiled.record_sets[set_id].filters:
        failing = [c for c in conditions if not _condition_holds(reader, c, values)]
        if failing and {c.field for c in failing} <= wanted:
            groups.append([miss(c) for c in failing])
    if groups:
        return groups
    # Other conditions fail too, on fields the solver leaves open (a request field not yet
    # documented): word the named fields' conditions alone.
    parts: list[Miss] = []
    for conditions in reader.compiled.record_sets[set_id].filters:
        for c in conditions:
            if c.field in wanted and not _condition_holds(reader, c, values):
                found_miss = miss(c)
                if found_miss.text not in (p.text for p in parts):
                    parts.append(found_miss)
    return [
        parts or [Miss(None, f"{plain_words(n) if plain else n} does not qualify") for n in fields]
    ]


def _fact_window_start(reader: Reader, condition: WithinFactMonthsCondition) -> dt.date | None:
    """The first day of a window as long as a finding documents (policy.lp, fact_start): that
    many calendar months before the request, a fraction counted whole; None: no bound."""
    documented = reader.case.findings.get(condition.fact)
    if not isinstance(documented, Decimal):
        return None
    months = math.ceil(documented)
    if months <= 0:
        return reader.case.date
    return months_before(reader.case.date, months) if months <= FACT_WINDOW_MONTHS else None


def _condition_holds(reader: Reader, condition: Condition, values: dict) -> bool:
    if isinstance(condition, WithinFactMonthsCondition):
        start = _fact_window_start(reader, condition)
        # An ongoing therapy (no `end`) ends on the request date.
        day = values.get(condition.field, reader.case.date if condition.field == "end" else None)
        return start is None or (isinstance(day, dt.date) and day >= start)
    value = values.get(condition.field)
    if value is None:
        return False
    if isinstance(condition, InCondition):
        return _value_text(value) in condition.values
    if isinstance(condition, CmpCondition):
        if not isinstance(value, Decimal):
            return False
        number, threshold = scaled(value), condition.threshold
        return {
            Operator.GE: number >= threshold,
            Operator.GT: number > threshold,
            Operator.LE: number <= threshold,
            Operator.LT: number < threshold,
            Operator.EQ: number == threshold,
            Operator.NE: number != threshold,
        }[condition.operator]
    if isinstance(condition, HasCondition):
        return isinstance(value, tuple) and condition.value in value
    if isinstance(condition, WithinCondition):
        if not isinstance(value, dt.date):
            return False
        offset = (value - reader.case.date).days
        return condition.low <= offset <= condition.high
    if isinstance(condition, WithinMonthsCondition):
        start = months_before(reader.case.date, condition.months)
        return isinstance(value, dt.date) and start <= value <= reader.case.date
    if isinstance(condition, OrderCondition):
        dates = reader.order_dates.get(condition.target, ())
        if not isinstance(value, dt.date) or not dates:
            return False
        return dates[0] < value if condition.test == "after" else dates[-1] > value
    request = reader.case.request.get(condition.target.removeprefix("request."))
    if request is None:
        return False
    if condition.test == "covers" and _value_text(value) == BOTH_SIDES:
        return True  # a record of both sides serves either (policy.lp, covers)
    return _value_text(request) == _value_text(value)


def _miss_text(
    reader: Reader, condition: Condition, value: object, kind: str = "", plain: bool = False
) -> str:
    """What a record misses on one condition: its documented value against what is needed, in
    words ("relief 60%, needs 75% or more", "modality X-ray, needs CT or MRI")."""
    field_def = _field_def(reader, kind, condition.field)
    unit = field_def.unit if field_def is not None else None
    name = plain_words(condition.field.removesuffix("_percent") if unit == "%" else condition.field)
    if value is None:
        return f"{name} not documented"
    shown = _value_text(value)
    if isinstance(condition, InCondition):
        if plain and set(condition.values) | {shown} <= SIDES:
            # "left joint, needs the right joint or both joints"
            wanted = " or ".join(
                "both joints" if v == BOTH_SIDES else f"the {v} joint"
                for v in sorted(condition.values, key=lambda v: v == BOTH_SIDES)
            )
            return f"{side_words(shown)}, needs {wanted}"
        if plain and field_def is not None and field_def.type.kind == "bool":
            wanted = " or ".join(value_words(v, "bool") for v in sorted(condition.values))
            return f"{name}: {value_words(shown, 'bool')}, needs {wanted}"
        wanted = " or ".join(plain_words(v) for v in sorted(condition.values))
        return f"{name} {plain_words(shown)}, needs {wanted}"
    if isinstance(condition, CmpCondition):
        threshold = unscaled(condition.threshold)
        amount = (
            f"{threshold}{unit}" if unit == "%" else f"{threshold} {unit}" if unit else threshold
        )
        shown_amount = f"{shown}{unit}" if unit == "%" else f"{shown} {unit}" if unit else shown
        return f"{name} {shown_amount}, needs {OPERATOR_WORDS[condition.operator].format(amount)}"
    if isinstance(condition, HasCondition):
        return f"{name} do not include {plain_words(condition.value)}"
    if isinstance(condition, WithinCondition):
        start = reader.case.date + dt.timedelta(days=condition.low)
        end = reader.case.date + dt.timedelta(days=condition.high)
        # The record's own text gives the date; the window is named by its first day.
        if isinstance(value, dt.date) and value < start:
            if plain:
                return f"more than {-condition.low} days before the request"
            return f"dated before the window that starts {start}"
        return f"dated after the window that ends {end}"
    if isinstance(condition, WithinFactMonthsCondition):
        since = _fact_window_start(reader, condition)
        if plain:
            fact = reader.policy.vocabulary.fact("finding", condition.fact)
            means = lower_first(fact.means) if fact is not None else plain_words(condition.fact)
            length = reader.case.findings.get(condition.fact)
            return (
                f"{_dated(condition.field, shown)}, before {_began(means)} "
                f"around {since}, {length} months before the request"
            )
        return f"{name} {shown}, before the window of {condition.fact} that starts {since}"
    if isinstance(condition, WithinMonthsCondition):
        start = months_before(reader.case.date, condition.months)
        if isinstance(value, dt.date) and value < start:
            if plain:
                return f"more than {condition.months} months before the request"
            return f"dated before the window that starts {start}"
        return f"dated after the request date {reader.case.date}"
    if isinstance(condition, OrderCondition):
        return _order_miss_text(reader, condition, value)
    target = condition.target.removeprefix("request.")
    request = reader.case.request.get(target)
    wanted = _value_text(request) if request is not None else "not documented"
    if plain and target == "side" and request is not None and {shown, wanted} <= SIDES:
        # "right joint, needs the left joint or both joints"
        needed = {wanted} | ({BOTH_SIDES} if condition.test == "covers" else set())
        either = " or ".join(
            "both joints" if v == BOTH_SIDES else f"the {v} joint"
            for v in sorted(needed, key=lambda v: v == BOTH_SIDES)
        )
        return f"{side_words(shown)}, needs {either}"
    if plain:
        return f"{name} {plain_words(shown)}, not the requested {plain_words(target)} ({plain_words(wanted)})"
    return f"{name} {shown}, not the requested {plain_words(target)} ({wanted})"


def _dated(field: str, shown: str) -> str:
    """A record's date field as a predicate: "ended on 2023-04-01", "dated 2025-12-01"."""
    verbs = {"end": "ended on", "start": "started on", "date": "dated"}
    return f"{verbs.get(field, plain_words(field) + ' on')} {shown}"


def _began(means: str) -> str:
    """When a duration a finding documents began, in words: "how long the current pain has
    lasted" gives "the current pain began"; another meaning, "the period of <it> began"."""
    found = re.fullmatch(r"how long (.+?) (?:has|have) (?:lasted|persisted)", means.rstrip(". "))
    return f"{found.group(1)} began" if found else f"the period of {means} began"


def _order_miss_text(reader: Reader, condition: OrderCondition, value: object) -> str:
    """Why a record is not after (before) a set: "not after any conservative therapy record:
    earliest 2026-02-01"."""
    target = reader.compiled.record_sets[condition.target]
    what = f"{lower_first(target.label)} record"
    dates = reader.order_dates.get(condition.target, ())
    if not dates:
        return f"not {condition.test} any {what}: none documented"
    if condition.test == "after":
        return f"not after any {what}: earliest {dates[0]}"
    return f"not before any {what}: latest {dates[-1]}"


OPERATOR_WORDS = {
    Operator.GE: "{} or more",
    Operator.GT: "more than {}",
    Operator.LE: "{} or less",
    Operator.LT: "less than {}",
    Operator.EQ: "exactly {}",
    Operator.NE: "other than {}",
}


def _field_def(reader: Reader, kind: str, name: str):
    record = reader.policy.vocabulary.record(kind) if kind else None
    return record.field(name) if record is not None else None


def _value_text(value: object) -> str:
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value) or "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
