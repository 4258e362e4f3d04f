"""Cases built from missing documentation: each item of a minimal set made a documented fact or
record, in a copy of a case given as plain data (the YAML shape of a case file).

An item becomes what a clinic would add to the record:

* ``guess(F, V)``: finding F (or request field ``request(F)``) documented as V; numbers are
  unscaled (V/100), ``true``/``false`` become booleans.
* ``fill(r(kind, i), field, V)``: the field written on ``records[kind][i]``.
* ``more(S, I)``: a new record meeting the filter of record set S, read from the compiled
  policy's facts (``filter/3``, ``condition/3``, ``condition_value/3``, ``set_includes/2``). It
  gets a date of its own before the request (inside any window), the accepted value of every
  constrained field and a value for every other required field. Of the records that would do,
  the one joining the fewest record sets of the policy is taken, so that it serves the set it
  was added for and as little else as possible.
  A count spaced apart (``, at least G days apart``) gets a date at least G days from every
  dated record; a record ordered against another set (``date after SET``) a date after the
  first (before the last) of that set's records in the case, a record of that set being added
  first when the case has none.
* ``more_days(N)``: a therapy record running up to the day before the request for as many days
  as leaf N asks for, inside its window.

Guesses and fills are applied first, so a filter matching a request field sees the guessed value.

When records of different filters join equally few record sets (a set that is the union of
others), the first is taken unless a choice (item key -> index) picks another: the tests try
each of them.
"""

from __future__ import annotations

import bisect
import copy
import datetime as dt
import functools
import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import clingo

from ..core.kinds import BOTH_SIDES, CountUnit
from ..core.units import month_days
from ..language.compiler import COMPARISONS, CompiledPolicy, RecordsLeaf
from ..language.semantics import RecordKind, Vocabulary
from ..solve.atoms import value_text
from ..solve.case_facts import months_before

# How far back a record may be dated when no window bounds it.
OPEN_WINDOW_DAYS = 10_000


class Unwritable(ValueError):
    """An item that no record can meet (a filter tied to a request value the case lacks)."""


@dataclass(frozen=True)
class _Filter:
    set_id: str
    kind: str
    conditions: tuple[clingo.Symbol, ...]  # value_in(F), compare(F,Op,T), has(F,V), ...
    values: tuple[tuple[str, ...], ...]  # per condition: the accepted values of a value_in


@dataclass(frozen=True)
class RecordFilters:
    """The record filters of one compiled policy, as its facts give them."""

    own: dict[str, tuple[_Filter, ...]]  # set id -> its own filters
    includes: dict[str, tuple[str, ...]]  # set id -> the sets it includes

    def all_sets(self) -> set[str]:
        return set(self.own) | set(self.includes)

    def of(self, set_id: str) -> list[_Filter]:
        found = list(self.own.get(set_id, ()))
        for other in self.includes.get(set_id, ()):
            found.extend(self.of(other))
        return found

    def sets_matching(self, kind: str, record: dict, request: dict) -> set[str]:
        """Every record set (includes followed) a record of `kind` would belong to."""
        found = {
            f.set_id
            for fs in self.own.values()
            for f in fs
            if f.kind == kind and record_matches(f, record, request)
        }
        changed = True
        while changed:
            changed = False
            for set_id, others in self.includes.items():
                if set_id not in found and found & set(others):
                    found.add(set_id)
                    changed = True
        return found


@functools.lru_cache(maxsize=16)
def record_filters(program: str) -> RecordFilters:
    """Ground the compiled program text alone and read the record filters off it."""
    control = clingo.Control(["--warn=none"])
    control.add("base", [], program)
    control.ground([("base", [])])
    atoms = [a.symbol for a in control.symbolic_atoms]

    def by(name: str, arity: int) -> list[tuple[clingo.Symbol, ...]]:
        return [tuple(a.arguments) for a in atoms if a.match(name, arity)]

    values: dict[tuple[str, int], list[str]] = {}
    for fl, index, value in by("condition_value", 3):
        values.setdefault((fl.name, index.number), []).append(value_text(value))
    conditions: dict[str, list[tuple[int, clingo.Symbol]]] = {}
    for fl, index, test in by("condition", 3):
        conditions.setdefault(fl.name, []).append((index.number, test))
    own: dict[str, list[tuple[str, _Filter]]] = {}
    for set_id, fl, kind in by("filter", 3):
        ordered = sorted(conditions.get(fl.name, []), key=lambda c: c[0])
        own.setdefault(set_id.name, []).append(
            (
                fl.name,
                _Filter(
                    set_id.name,
                    kind.name,
                    tuple(t for _, t in ordered),
                    tuple(tuple(sorted(values.get((fl.name, i), []))) for i, _ in ordered),
                ),
            )
        )
    includes: dict[str, list[str]] = {}
    for set_id, other in by("set_includes", 2):
        includes.setdefault(set_id.name, []).append(other.name)
    return RecordFilters(
        {k: tuple(f for _, f in sorted(v, key=lambda p: p[0])) for k, v in own.items()},
        {k: tuple(sorted(v)) for k, v in includes.items()},
    )


# ------------------------------------------------------------------ matching a record
def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return dt.date.fromisoformat(value)
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _field_value(record: dict, name: str, request: dict) -> Any:
    if name == "duration_days" and "start" in record:
        date = _as_date(request["date"])
        assert date is not None
        end = min(_as_date(record.get("end")) or date, date)
        start = _as_date(record["start"])
        assert start is not None
        return (end - start).days + 1
    return record.get(name)


# The documented dates of a set a filter orders its records against (`date after SET`), first
# and last, by set id.
OrderBounds = dict[str, tuple[dt.date, dt.date]]


def record_matches(
    fl: _Filter, record: dict, request: dict, order: OrderBounds | None = None
) -> bool:
    """Whether a record (case-file data) meets every condition of a filter; an order condition
    holds only where `order` gives the other set's dates."""
    day0 = _as_date(request["date"])
    assert day0 is not None
    for test, accepted in zip(fl.conditions, fl.values, strict=True):
        name = test.arguments[0].name
        value = _field_value(record, name, request)
        if test.name == "value_in":
            if _text(value) not in accepted:
                return False
        elif test.name == "compare":
            if value is None or isinstance(value, bool):
                return False
            op, threshold = test.arguments[1].name, test.arguments[2].number
            if not COMPARISONS[op](int(Decimal(str(value)) * 100), threshold):
                return False
        elif test.name == "has":
            if test.arguments[1].name not in (value or []):
                return False
        elif test.name == "within":
            date = _as_date(value)
            if date is None:
                return False
            if not test.arguments[1].number <= (date - day0).days <= test.arguments[2].number:
                return False
        elif test.name == "within_months":
            date = _as_date(value)
            if date is None or not months_before(day0, test.arguments[1].number) <= date <= day0:
                return False
        elif test.name in ("matches", "covers"):
            wanted = request.get(test.arguments[1].arguments[0].name)
            if value is None or wanted is None:
                return False
            if test.name == "covers" and value == BOTH_SIDES:
                continue
            if _text(value) != _text(wanted):
                return False
        elif test.name == "within_fact_months":
            continue  # as long as a finding documents: set free, as lint sets it
        elif test.name in ("after", "before"):
            date, bounds = _as_date(value), (order or {}).get(test.arguments[1].name)
            if date is None or bounds is None:
                return False
            if not (date > bounds[0] if test.name == "after" else date < bounds[1]):
                return False
        else:
            raise AssertionError(f"unknown condition {test}")
    return True


# ------------------------------------------------------------------ writing a record
def _python_value(symbol: clingo.Symbol) -> Any:
    """A case-file value for an ASP value: numbers unscaled (V/100), true/false as bools."""
    if symbol.type == clingo.SymbolType.Number:
        value = Decimal(symbol.number) / 100
        return int(value) if value == value.to_integral_value() else float(value)
    if symbol.type == clingo.SymbolType.String:
        return symbol.string  # a procedure code, written as the case writes it
    if symbol.name in ("true", "false") and not symbol.arguments:
        return symbol.name == "true"
    return symbol.name


def _used_dates(case: dict) -> set[dt.date]:
    used = set()
    for records in (case.get("records") or {}).values():
        for record in records or []:
            for name in ("date", "start", "end"):
                date = _as_date(record.get(name))
                if date is not None:
                    used.add(date)
    return used


def request_date(case: dict) -> dt.date:
    date = _as_date(case["request"]["date"])
    assert date is not None
    return date


def _fresh_date(case: dict, low: int, high: int, gap: int = 1, today: bool = False) -> dt.date:
    """The latest date before the request (`today`: on or before it), inside [low, high] days,
    at least `gap` days from every date a record uses (1: a date no record uses)."""
    day0 = request_date(case)
    used = sorted(_used_dates(case))
    for offset in range(min(high, 0 if today else -1), low - 1, -1):
        date = day0 + dt.timedelta(days=offset)
        at = bisect.bisect_left(used, date)
        near = used[max(at - 1, 0) : at + 1]
        if all(abs((date - other).days) >= gap for other in near):
            return date
    raise Unwritable(f"no free date in {low}..{high} days of the request")


def _values_of(kind: RecordKind, name: str, accepted: tuple[str, ...] | None = None) -> list[Any]:
    field = kind.field(name)
    assert field is not None, (kind.name, name)
    if field.type.kind == "bool":
        return [v == "true" for v in accepted] if accepted is not None else [False, True]
    if accepted is not None:
        return list(accepted)
    return list(field.type.values)


def _number_meeting(op: str, threshold: int) -> Any:
    scaled = {"ge": 0, "le": 0, "eq": 0, "gt": 1, "lt": -1, "ne": 100}[op] + threshold
    value = Decimal(scaled) / 100
    return int(value) if value == value.to_integral_value() else float(value)


class Writer:
    """Writes missing documentation into cases for one compiled policy and its vocabulary."""

    def __init__(self, compiled: CompiledPolicy, vocabulary: Vocabulary):
        self.compiled = compiled
        self.vocabulary = vocabulary
        self.filters = record_filters(compiled.program)

    def _record_for(
        self,
        case: dict,
        fl: _Filter,
        days: int | None,
        window: int | None,
        gap: int = 1,
        latest: int = -1,
    ) -> dict | None:
        """The least far-reaching record of fl.kind meeting the filter, dated `latest` days
        from the request or earlier, or None if none can."""
        kind = self.vocabulary.record(fl.kind)
        assert kind is not None
        request = case["request"]
        fixed: dict[str, Any] = {}
        options: dict[str, list[Any]] = {}
        has: dict[str, list[str]] = {}
        date_range = {"date": [-OPEN_WINDOW_DAYS, latest], "start": [-OPEN_WINDOW_DAYS, latest]}
        min_length = 1
        # A window as long as a finding documents (the current episode): the record is written
        # ending the day before the request, inside any such window.
        recent_end = any(t.name == "within_fact_months" for t in fl.conditions)
        order = self._order_bounds(case, fl)
        for test, accepted in zip(fl.conditions, fl.values, strict=True):
            name = test.arguments[0].name
            if test.name in ("after", "before"):
                # Dated against the other set's documented records (an added one has no date).
                bounds = order.get(test.arguments[1].name)
                if bounds is None or name != "date":
                    return None
                day0 = request_date(case)
                if test.name == "after":
                    date_range[name][0] = max(date_range[name][0], (bounds[0] - day0).days + 1)
                else:
                    date_range[name][1] = min(date_range[name][1], (bounds[1] - day0).days - 1)
            elif test.name == "value_in":
                options[name] = _values_of(kind, name, accepted)
            elif test.name == "compare":
                op, threshold = test.arguments[1].name, test.arguments[2].number
                if name == "duration_days":
                    min_length = max(min_length, math.ceil(_number_meeting(op, threshold)))
                else:
                    fixed[name] = _number_meeting(op, threshold)
            elif test.name == "has":
                has.setdefault(name, []).append(test.arguments[1].name)
            elif test.name == "within":
                low, high = test.arguments[1].number, test.arguments[2].number
                date_range[name] = [max(date_range[name][0], low), min(date_range[name][1], high)]
            elif test.name == "within_months":
                low = -28 * test.arguments[1].number
                date_range[name] = [max(date_range[name][0], low), date_range[name][1]]
            elif test.name in ("matches", "covers"):
                wanted = request.get(test.arguments[1].arguments[0].name)
                if wanted is None:
                    return None
                fixed[name] = wanted
        for field in kind.fields:
            if field.derived or field.name in options or field.name in fixed:
                continue
            if field.type.kind == "set":
                fixed[field.name] = list(has.get(field.name, []))
            elif field.required and field.type.kind in ("bool", "choice"):
                options[field.name] = _values_of(kind, field.name)
        for name, wanted in has.items():
            fixed[name] = list(wanted)
        if kind.field("start") is not None:
            length = max(min_length, days or 1)
            low = -(window or OPEN_WINDOW_DAYS)
            start = _fresh_date(case, low, min(-length, date_range["start"][1]))
            end = start + dt.timedelta(days=max(length - 1, 0))
            if days is not None or recent_end:  # up to the day before the request
                end = request_date(case) - dt.timedelta(days=1)
                start = _fresh_date(case, low, (end - request_date(case)).days - length + 1)
            fixed["start"], fixed["end"] = start, end
        elif kind.field("date") is not None:
            low, high = date_range["date"]
            fixed["date"] = _fresh_date(case, low, high, gap, today=latest >= 0)
        best: tuple[int, dict] | None = None
        names = list(options)
        for combination in itertools.product(*(options[n] for n in names)):
            record = dict(fixed)
            record.update(zip(names, combination, strict=True))
            if any(
                f.only_for and f.name in record and record.get("kind") != f.only_for
                for f in kind.fields
            ):
                continue
            if not record_matches(fl, record, request, order):
                continue
            reach = len(self.filters.sets_matching(fl.kind, record, request))
            if best is None or reach < best[0]:
                best = (reach, record)
        return None if best is None else best[1]

    def _dated_record(
        self, case: dict, fl: _Filter, days: int | None, window: int | None, gap: int, latest: int
    ) -> dict | None:
        """`_record_for`, or, where no day before the request is left (a record after one of
        the day before), a record on the request date, which a case accepts."""
        try:
            record = self._record_for(case, fl, days, window, gap, latest)
        except Unwritable:
            record = None
        if record is None and latest == -1:
            return self._record_for(case, fl, days, window, gap, 0)
        return record

    def _add_order_targets(self, case: dict, fl: _Filter) -> None:
        """A record of each set the filter orders its records against, when the case has none,
        dated two days or more before the request: a record after it can then take the day
        before the request, one before it an earlier day. Such a set is never ordered itself."""
        for test in fl.conditions:
            target = test.arguments[1].name if test.name in ("after", "before") else None
            if target is not None and target not in self._order_bounds(case, fl):
                self._add_record(case, target, None, None, -2)

    def _order_bounds(self, case: dict, fl: _Filter) -> OrderBounds:
        """For each set a filter orders its records against, the first and last date of its
        records in the case (each dated by the field the condition names)."""
        found: OrderBounds = {}
        for test in fl.conditions:
            if test.name not in ("after", "before"):
                continue
            target, dated_by = test.arguments[1].name, test.arguments[2].name
            dates = sorted(
                date
                for kind, records in (case.get("records") or {}).items()
                for record in records or []
                if (date := _as_date(record.get(dated_by))) is not None
                and target in self.filters.sets_matching(kind, record, case["request"])
            )
            if dates:
                found[target] = (dates[0], dates[-1])
        return found

    def _least_reaching(
        self, case: dict, set_id: str, days: int | None, window: int | None, latest: int = -1
    ) -> list[tuple[str, dict]]:
        """The records (kind, record), one per filter of record set `set_id`, that join the
        fewest record sets of the policy: usually one, several when filters tie. Records of
        the sets the filters order against are added to `case` first where it has none."""
        if set_id not in self.compiled.record_sets:
            raise Unwritable(f"{set_id} is not a record set of the policy")
        candidates = []
        gap = self._set_gap(set_id)
        for fl in self.filters.of(set_id):
            self._add_order_targets(case, fl)
            record = self._dated_record(case, fl, days, window, gap, latest)
            if record is not None:
                reach = len(self.filters.sets_matching(fl.kind, record, case["request"]))
                candidates.append((reach, fl.kind, record))
        if not candidates:
            raise Unwritable(f"no record can meet the filter of {set_id}")
        least = min(reach for reach, _, _ in candidates)
        return [(kind, record) for reach, kind, record in candidates if reach == least]

    def _add_record(
        self,
        case: dict,
        set_id: str,
        days: int | None,
        window: int | None,
        latest: int = -1,
        choice: int = 0,
    ) -> None:
        """Append the least far-reaching record meeting a filter of record set `set_id`;
        `choice` picks among records that tie (taken modulo their number)."""
        tied = self._least_reaching(case, set_id, days, window, latest)
        kind, record = tied[choice % len(tied)]
        if not case.get("records"):
            case["records"] = {}
        case["records"].setdefault(kind, []).append(record)

    def tied_to_unknown_request(self, case: dict, set_id: str) -> bool:
        """Whether every filter of record set `set_id` ties a field to a request value (`same
        side as requested`) that the case does not document: no record of it can be written."""
        filters = self.filters.of(set_id)
        return bool(filters) and all(
            any(
                test.name in ("matches", "covers")
                and case["request"].get(test.arguments[1].arguments[0].name) is None
                for test in fl.conditions
            )
            for fl in filters
        )

    def ties(self, case: dict, key: str) -> int:
        """How many equally narrow records an added-record item can become (1 for the others,
        and for one that cannot be written)."""
        term = clingo.parse_term(key.split(" | ")[0])
        if term.name == "more":
            set_id, days, window = (
                term.arguments[0].name,
                None,
                self._set_window(term.arguments[0].name),
            )
        elif term.name == "more_days":
            leaf = self.compiled.nodes[term.arguments[0].name].records_leaf()
            set_id, days, window = leaf.set_id, leaf.minimum, _leaf_days(leaf)
        else:
            return 1
        if self.tied_to_unknown_request(case, set_id):
            return 1
        return len(self._least_reaching(copy.deepcopy(case), set_id, days, window))

    def _order_targets(self) -> dict[str, int]:
        """The sets some filter orders its records against, each with the most days the
        records ordered after it must span (K dates G days apart: K * G, as an added record
        keeps G days from every dated record, the one it follows too)."""
        found: dict[str, int] = {}
        for set_id in self.filters.all_sets():
            for fl in self.filters.of(set_id):
                for test in fl.conditions:
                    if test.name not in ("after", "before"):
                        continue
                    target = test.arguments[1].name
                    span = 0
                    if test.name == "after":
                        span = max(
                            (
                                leaf.minimum * (leaf.apart or 1)
                                for info in self.compiled.nodes.values()
                                if isinstance(leaf := info.leaf, RecordsLeaf)
                                and leaf.unit == CountUnit.DATES
                                and self.compiled.may_count_for(set_id, leaf.set_id)
                            ),
                            default=0,
                        )
                    found[target] = max(found.get(target, 0), span)
        return found

    def _read_as_latest(self, set_id: str) -> bool:
        """Whether a `latest of` leaf reads the set, or a set containing it."""
        return any(
            isinstance(leaf := info.leaf, RecordsLeaf)
            and leaf.unit == CountUnit.LATEST
            and (leaf.set_id == set_id or self.compiled.may_count_for(set_id, leaf.set_id))
            for info in self.compiled.nodes.values()
        )

    def _set_gap(self, set_id: str) -> int:
        """The widest spacing (`, at least G days apart`) of a count over `set_id` or a set
        containing it: an added record keeps that far from every dated record."""
        gaps = [
            leaf.apart
            for info in self.compiled.nodes.values()
            if isinstance(leaf := info.leaf, RecordsLeaf)
            and leaf.apart
            and (leaf.set_id == set_id or self.compiled.may_count_for(set_id, leaf.set_id))
        ]
        return max(gaps, default=1)

    def _set_window(self, set_id: str) -> int | None:
        """The narrowest window of a record leaf counting `set_id` or a set containing it."""
        windows = [
            days
            for info in self.compiled.nodes.values()
            if isinstance(leaf := info.leaf, RecordsLeaf)
            and (days := _leaf_days(leaf))
            and (leaf.set_id == set_id or self.compiled.may_count_for(set_id, leaf.set_id))
        ]
        return min(windows) if windows else None

    def apply(
        self,
        case: dict,
        keys: Iterable[str],
        choices: dict[str, int] | None = None,
        skip_unwritable: bool = False,
    ) -> dict:
        """A copy of the case with each item (its ASP key) documented; Unwritable when an
        added record cannot meet its filter. `choices` (item key -> index) picks among
        equally narrow records; `skip_unwritable` leaves out an added record whose filter is
        tied to a request value the case (with the guesses) does not document."""
        choices = choices or {}
        result = copy.deepcopy(case)
        # A merged item (any of several values serves) is applied with its first value.
        parsed = [clingo.parse_term(k.split(" | ")[0]) for k in keys]
        order = {"guess": 0, "fill": 1, "more": 2, "more_days": 3}
        # A record of a set others are ordered against comes first, so that they are dated
        # against it.
        targets = self._order_targets()

        def position(term: clingo.Symbol) -> tuple[int, int, str]:
            target = term.name == "more" and term.arguments[0].name in targets
            return (order[term.name], 0 if target else 1, str(term))

        for term in sorted(parsed, key=position):
            args = term.arguments
            if term.name == "guess":
                fact, value = args
                if fact.name == "request" and fact.arguments:
                    result["request"][fact.arguments[0].name] = _python_value(value)
                else:
                    if not result.get("findings"):
                        result["findings"] = {}
                    result["findings"][fact.name] = _python_value(value)
            elif term.name == "fill":
                record, field, value = args
                kind, index = record.arguments[0].name, record.arguments[1].number
                result["records"][kind][index][field.name] = _python_value(value)
            elif term.name == "more":
                set_id = args[0].name
                if skip_unwritable and self.tied_to_unknown_request(result, set_id):
                    continue
                choice = choices.get(str(term), 0)
                window = self._set_window(set_id)
                if set_id in targets:
                    # Early enough for the records after it to be dated, spaced as counted.
                    try:
                        span = -(2 + targets[set_id])
                        self._add_record(result, set_id, None, window, span, choice)
                        continue
                    except Unwritable:
                        pass
                self._add_record(result, set_id, None, window, choice=choice)
                if self._read_as_latest(set_id):
                    # A new result must be the latest one: it is dated on the request date,
                    # unless a record is already (another added record keeps its own date).
                    added = result["records"][self.compiled.record_sets[set_id].kind][-1]
                    day0 = request_date(result)
                    if "date" in added and day0 not in _used_dates(result):
                        added["date"] = day0
            elif term.name == "more_days":
                leaf = self.compiled.nodes[args[0].name].records_leaf()
                choice = choices.get(str(term), 0)
                # A duration in months is this case's days of its months (units.month_days).
                days = (
                    month_days(request_date(result), leaf.minimum_months)
                    if leaf.minimum_months
                    else leaf.minimum
                )
                self._add_record(result, leaf.set_id, days, _leaf_days(leaf), choice=choice)
            else:
                raise AssertionError(f"unknown missing item {term}")
        return result


def _leaf_days(leaf: RecordsLeaf) -> int | None:
    """A leaf's window in days; one in months as the fewest days it can span (28 a month), so
    that a record placed inside it is inside the calendar window too."""
    return leaf.window or (28 * leaf.window_months if leaf.window_months else None)
