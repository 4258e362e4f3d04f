"""Helpers shared by the policy tests: the example case, mutations, evaluation, and completion.

Cases are handled as plain dicts (the YAML shape of a case) so that a test reads as the
documentation it changes. Every mutation helper returns a deep copy and leaves its input alone.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import itertools
import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import clingo
import pytest
import yaml

from sijfasp import solver
from sijfasp.api import Options
from sijfasp.api import evaluate as _evaluate
from sijfasp.case import validate_case
from sijfasp.case_facts import case_symbols, months_before
from sijfasp.compiler import RecordsLeaf
from sijfasp.policies import LoadedPolicy, bundled_policies
from sijfasp.results import MissingItem, NodeResult, PolicyResult
from sijfasp.semantics import RecordKind, Vocabulary

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLES_DIR = REPO_ROOT / "examples" / "cases"
APPROVABLE_PATH = EXAMPLES_DIR / "approvable.yaml"

AIM = "aim_sijf_2022"
CARESOURCE = "caresource_sijf_2026"
POLICY_IDS = (AIM, CARESOURCE)

PERCUTANEOUS = "percutaneous_sij_fusion"
OPEN = "open_sij_fusion"
REVISION = "revision_sij_fusion"

DETERMINATIONS = ("not_applicable", "excluded", "approvable", "incomplete", "not_met")

# How many minimal sets the completion self-check takes per case and policy.
SELF_CHECK_SETS = 10
# How many leave-one-item-out solver calls it spends per case beyond the first set.
REMOVAL_BUDGET = 60

# How many choices among equally narrow added records the minimality check tries per item.
MAX_TIE_CHOICES = 8

# A sentinel for the mutation helpers: the key is removed (left undocumented).
REMOVE = object()


# ------------------------------------------------------------------ cases
def load_yaml(path: Path | str) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@functools.lru_cache(maxsize=1)
def _approvable() -> dict:
    return load_yaml(APPROVABLE_PATH)


def base_case() -> dict:
    """A fresh copy of examples/cases/approvable.yaml (approvable under both policies)."""
    return copy.deepcopy(_approvable())


def request_date(case: dict) -> dt.date:
    value = case["request"]["date"]
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def days_before(case: dict, days: int) -> dt.date:
    """The date `days` days before the case's request date."""
    return request_date(case) - dt.timedelta(days=days)


def example_paths() -> list[Path]:
    return sorted(EXAMPLES_DIR.glob("*.yaml"))


def with_findings(case: dict, **values: Any) -> dict:
    """A copy with findings set; a value of REMOVE leaves that finding undocumented."""
    result = copy.deepcopy(case)
    findings = result.setdefault("findings", {}) or {}
    result["findings"] = findings
    for name, value in values.items():
        if value is REMOVE:
            findings.pop(name, None)
        else:
            findings[name] = value
    return result


def without_findings(case: dict, *names: str) -> dict:
    return with_findings(case, **dict.fromkeys(names, REMOVE))


def with_request(case: dict, **values: Any) -> dict:
    """A copy with request fields set; a value of REMOVE removes that field."""
    result = copy.deepcopy(case)
    for name, value in values.items():
        if value is REMOVE:
            result["request"].pop(name, None)
        else:
            result["request"][name] = value
    return result


def records_of(case: dict, kind: str) -> list[dict]:
    return list((case.get("records") or {}).get(kind) or [])


def with_records(case: dict, kind: str, records: Iterable[dict]) -> dict:
    """A copy whose `kind` records are replaced by `records` (an empty list removes them)."""
    result = copy.deepcopy(case)
    all_records = result.setdefault("records", {}) or {}
    result["records"] = all_records
    items = [copy.deepcopy(r) for r in records]
    if items:
        all_records[kind] = items
    else:
        all_records.pop(kind, None)
    return result


def add_records(case: dict, kind: str, *records: dict) -> dict:
    return with_records(case, kind, records_of(case, kind) + list(records))


def without_records(case: dict, kind: str, where: Callable[[dict], bool] | None = None) -> dict:
    """A copy without the `kind` records that `where` selects (all of them without `where`)."""
    kept = [r for r in records_of(case, kind) if where is not None and not where(r)]
    return with_records(case, kind, kept)


def update_records(case: dict, kind: str, where: Callable[[dict], bool], /, **values: Any) -> dict:
    """A copy where every selected `kind` record gets `values` (REMOVE deletes a field)."""
    updated = []
    for record in records_of(case, kind):
        record = copy.deepcopy(record)
        if where(record):
            for name, value in values.items():
                if value is REMOVE:
                    record.pop(name, None)
                else:
                    record[name] = value
        updated.append(record)
    return with_records(case, kind, updated)


def with_side(case: dict, side: str) -> dict:
    """A copy requested for `side`, with its SIJ imaging and joint injections of that side (the
    records the criteria tie to the joint to be fused); other records keep theirs."""
    case = with_request(case, side=side)
    case = update_records(case, "imaging", lambda r: r.get("region") == "sij", side=side)
    return update_records(
        case, "injection", lambda r: r.get("site") == "sij_intra_articular", side=side
    )


def request_only(
    service: str = PERCUTANEOUS, date: dt.date = dt.date(2026, 7, 15), **request: Any
) -> dict:
    """A case that documents nothing but the request."""
    return {"id": "request-only", "request": {"service": service, "date": date, **request}}


# ------------------------------------------------------------------ evaluation
@functools.lru_cache(maxsize=1)
def policies() -> dict[str, LoadedPolicy]:
    return {p.policy.id: p for p in bundled_policies()}


def loaded(policy_id: str) -> LoadedPolicy:
    return policies()[policy_id]


def vocabulary() -> Vocabulary:
    return loaded(AIM).policy.vocabulary


# The case id names a case but takes no part in its evaluation (case_symbols leaves it out, and
# a PolicyResult does not carry it), so cases differing only in id share one evaluation.
_KEY_ID = "test-case"


def _case_key(case: dict) -> str:
    """The case as canonical JSON (dates as ISO text, which the case format accepts), with
    the id replaced by one common id."""
    return json.dumps({**case, "id": _KEY_ID}, sort_keys=True, default=str)


@functools.lru_cache(maxsize=2048)
def _evaluate_cached(key: str, policy_id: str, enumerate: int) -> PolicyResult:
    checked = validate_case(json.loads(key), vocabulary(), "<test case>")
    return _evaluate(loaded(policy_id), checked, Options(enumerate=enumerate))


def evaluate(case: dict, policy_id: str, enumerate: int = 10) -> PolicyResult:
    """Check the case dict against the vocabulary and evaluate it under one bundled policy.

    Results are immutable and cached by the case's content, so tables that share a case
    evaluate it once.
    """
    return _evaluate_cached(_case_key(case), policy_id, enumerate)


@functools.lru_cache(maxsize=8192)
def _determination_cached(key: str, policy_id: str) -> str:
    checked = validate_case(json.loads(key), vocabulary(), "<test case>")
    compiled = loaded(policy_id).compiled
    if not hasattr(solver, "_control"):  # fall back to the public call
        return str(solver.determine(compiled, case_symbols(checked)).determination)
    # The same program, options and optimum as sijfasp.solver.determine; only the
    # determination atom is read off the model instead of copying every atom.
    control = solver._control(
        ["--opt-mode=opt", "--opt-strategy=usc"], compiled, case_symbols(checked)
    )
    control.ground([("base", []), ("decide", [])])
    found: list[str] = []

    def on_model(model: clingo.Model) -> None:
        found[:] = [
            d
            for d in DETERMINATIONS
            if model.contains(clingo.Function("determination", [clingo.Function(d)]))
        ]

    control.solve(on_model=on_model)
    assert len(found) == 1, found
    return found[0]


def determination(case: dict, policy_id: str) -> str:
    """Only the determination (the solver's optimum, without listing missing documentation)."""
    return _determination_cached(_case_key(case), policy_id)


def find_node(result: PolicyResult, node_id: str) -> NodeResult:
    stack = list(result.criteria)
    while stack:
        node = stack.pop()
        if node.id == node_id:
            return node
        stack.extend(node.children)
    raise KeyError(f"{node_id} is not in the criteria of {result.policy}/{result.service}")


def status(result: PolicyResult, node_id: str) -> str:
    return find_node(result, node_id).status


def subtree_ids(policy_id: str, node_id: str) -> set[str]:
    nodes = loaded(policy_id).compiled.nodes
    found, stack = set(), [node_id]
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(nodes[current].children)
    return found


def cite(policy_id: str, node_id: str) -> str:
    lp = loaded(policy_id)
    return lp.compiled.cite(node_id, lp.policy.cite)


def keys(items: Iterable[MissingItem]) -> frozenset[str]:
    return frozenset(i.key for i in items)


def set_keys(result: PolicyResult) -> set[frozenset[str]]:
    return {keys(s) for s in result.missing}


# ------------------------------------------------------------------ record filters
@dataclass(frozen=True)
class Condition:
    index: int
    test: clingo.Symbol  # value_in(F), compare(F,Op,T), has(F,V), within(F,Lo,Hi), matches(F,R)
    values: tuple[str, ...]  # the accepted values of a value_in condition

    @property
    def field(self) -> str:
        return self.test.arguments[0].name


@dataclass(frozen=True)
class Filter:
    set_id: str
    id: str
    kind: str
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class FilterFacts:
    """The record filters of one compiled policy, read from its ASP facts."""

    filters: dict[str, tuple[Filter, ...]]  # set id -> its own filters
    includes: dict[str, tuple[str, ...]]  # set id -> sets it includes
    # (narrow, broad) pairs of subsumed/2: every record of the narrow set is in the broad one,
    # so a record added to the narrow set counts for the broad set too.
    subsumed: frozenset[tuple[str, str]] = frozenset()

    def filters_of(self, set_id: str) -> list[Filter]:
        found: list[Filter] = list(self.filters.get(set_id, ()))
        for other in self.includes.get(set_id, ()):
            found.extend(self.filters_of(other))
        return found

    def all_sets(self) -> set[str]:
        return set(self.filters) | set(self.includes)

    def sets_matching(self, kind: str, record: dict, request: dict) -> set[str]:
        """Every record set (includes followed) a record of `kind` would belong to."""
        direct = {
            f.set_id
            for fs in self.filters.values()
            for f in fs
            if f.kind == kind and record_matches(f, record, request)
        }
        changed = True
        while changed:
            changed = False
            for set_id, others in self.includes.items():
                if set_id not in direct and direct & set(others):
                    direct.add(set_id)
                    changed = True
        return direct


@functools.lru_cache(maxsize=4)
def filter_facts(policy_id: str) -> FilterFacts:
    """Ground the compiled program text alone and read filter/3, condition/3 and friends."""
    control = clingo.Control(["--warn=none"])
    control.add("base", [], loaded(policy_id).compiled.program)
    control.ground([("base", [])])
    atoms = [a.symbol for a in control.symbolic_atoms]

    def by(name: str, arity: int) -> list[tuple[clingo.Symbol, ...]]:
        return [tuple(a.arguments) for a in atoms if a.match(name, arity)]

    values: dict[tuple[str, int], list[str]] = {}
    for fl, index, value in by("condition_value", 3):
        values.setdefault((fl.name, index.number), []).append(str(value))
    conditions: dict[str, list[Condition]] = {}
    for fl, index, test in by("condition", 3):
        conditions.setdefault(fl.name, []).append(
            Condition(index.number, test, tuple(sorted(values.get((fl.name, index.number), []))))
        )
    filters: dict[str, list[Filter]] = {}
    for set_id, fl, kind in by("filter", 3):
        found = tuple(sorted(conditions.get(fl.name, []), key=lambda c: c.index))
        filters.setdefault(set_id.name, []).append(Filter(set_id.name, fl.name, kind.name, found))
    includes: dict[str, list[str]] = {}
    for set_id, other in by("set_includes", 2):
        includes.setdefault(set_id.name, []).append(other.name)
    subsumed = frozenset((a.name, b.name) for a, b in by("subsumed", 2))
    return FilterFacts(
        {k: tuple(sorted(v, key=lambda f: f.id)) for k, v in filters.items()},
        {k: tuple(sorted(v)) for k, v in includes.items()},
        subsumed,
    )


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return dt.date.fromisoformat(value)
    return None


def _symbol_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _field_value(record: dict, field: str, request: dict) -> Any:
    if field == "duration_days" and "start" in record:
        date = _as_date(request["date"])
        end = min(_as_date(record.get("end")) or date, date)
        return (end - _as_date(record["start"])).days + 1
    return record.get(field)


_COMPARE = {
    "ge": lambda v, t: v >= t,
    "gt": lambda v, t: v > t,
    "le": lambda v, t: v <= t,
    "lt": lambda v, t: v < t,
    "eq": lambda v, t: v == t,
    "ne": lambda v, t: v != t,
}


def record_matches(fl: Filter, record: dict, request: dict) -> bool:
    """Whether a record (a case-file dict) meets every condition of a filter."""
    for condition in fl.conditions:
        test, field = condition.test, condition.field
        value = _field_value(record, field, request)
        if test.name == "value_in":
            if _symbol_text(value) not in condition.values:
                return False
        elif test.name == "compare":
            if value is None or isinstance(value, bool):
                return False
            op, threshold = test.arguments[1].name, test.arguments[2].number
            if not _COMPARE[op](int(Decimal(str(value)) * 100), threshold):
                return False
        elif test.name == "has":
            if test.arguments[1].name not in (value or []):
                return False
        elif test.name == "within":
            date = _as_date(value)
            if date is None:
                return False
            day = (date - _as_date(request["date"])).days
            if not test.arguments[1].number <= day <= test.arguments[2].number:
                return False
        elif test.name == "within_months":
            date = _as_date(value)
            first = months_before(_as_date(request["date"]), test.arguments[1].number)
            if date is None or not first <= date <= _as_date(request["date"]):
                return False
        elif test.name == "matches":
            wanted = request.get(test.arguments[1].arguments[0].name)
            if value is None or wanted is None or _symbol_text(value) != _symbol_text(wanted):
                return False
        elif test.name == "covers":
            wanted = request.get(test.arguments[1].arguments[0].name)
            if value is None or wanted is None:
                return False
            if value != "bilateral" and _symbol_text(value) != _symbol_text(wanted):
                return False
        else:
            raise AssertionError(f"unknown condition {test}")
    return True


# ------------------------------------------------------------------ completion
def _python_value(symbol: clingo.Symbol) -> Any:
    """A case-file value for an ASP value: numbers are unscaled (V/100), true/false are bools."""
    if symbol.type == clingo.SymbolType.Number:
        value = Decimal(symbol.number) / 100
        return int(value) if value == value.to_integral_value() else float(value)
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


def _fresh_date(case: dict, low: int, high: int) -> dt.date:
    """The latest date before the request, inside [low, high] days, used by no record."""
    day0 = request_date(case)
    used = _used_dates(case)
    for offset in range(min(high, -1), low - 1, -1):
        date = day0 + dt.timedelta(days=offset)
        if date not in used:
            return date
    raise AssertionError(f"no free date in {low}..{high} days of the request")


def _choice_values(kind: RecordKind, name: str) -> list[Any]:
    field = kind.field(name)
    assert field is not None, (kind.name, name)
    if field.type.kind == "bool":
        return [False, True]
    if field.type.kind == "choice":
        return list(field.type.values)
    raise AssertionError(f"{kind.name}.{name} is not a choice")


def _accepted(kind: RecordKind, values: tuple[str, ...], name: str) -> list[Any]:
    field = kind.field(name)
    assert field is not None
    if field.type.kind == "bool":
        return [v == "true" for v in values]
    return list(values)


def _number_meeting(op: str, threshold: int) -> Any:
    scaled = {
        "ge": threshold,
        "le": threshold,
        "eq": threshold,
        "gt": threshold + 1,
        "lt": threshold - 1,
        "ne": threshold + 100,
    }[op]
    value = Decimal(scaled) / 100
    return int(value) if value == value.to_integral_value() else float(value)


def _record_for(
    case: dict, policy_id: str, fl: Filter, days: int | None, window: int | None
) -> dict | None:
    """The least far-reaching record of fl.kind meeting the filter, or None if none can.

    Constrained and required choice/bool fields take the accepted values; among the
    combinations, the record that joins the fewest record sets of the policy is taken, so that
    it serves the leaf it was added for and as little else as possible.
    """
    kind = vocabulary().record(fl.kind)
    assert kind is not None
    request = case["request"]
    fixed: dict[str, Any] = {}
    options: dict[str, list[Any]] = {}
    has: dict[str, list[str]] = {}
    date_range = {"date": [-10_000, -1], "start": [-10_000, -1]}
    min_length = 1
    for condition in fl.conditions:
        test, name = condition.test, condition.field
        if test.name == "value_in":
            options[name] = _accepted(kind, condition.values, name)
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
            options[field.name] = _choice_values(kind, field.name)
    for name, wanted in has.items():
        fixed[name] = list(wanted)
    # Dates: one of its own, before the request; therapy spans enough days in the window.
    if kind.field("start") is not None:
        length = max(min_length, days or 1)
        high = -1
        low = -(window or 10_000)
        start = _fresh_date(case, low, high - length + 1)
        end = start + dt.timedelta(days=max(length - 1, 0))
        if days is not None:  # a duration addition runs up to the day before the request
            end = request_date(case) - dt.timedelta(days=1)
            start = _fresh_date(case, low, (end - request_date(case)).days - length + 1)
        fixed["start"], fixed["end"] = start, end
    elif kind.field("date") is not None:
        low, high = date_range["date"]
        fixed["date"] = _fresh_date(case, low, high)
    facts = filter_facts(policy_id)
    best: tuple[int, dict] | None = None
    names = list(options)
    for combination in itertools.product(*(options[n] for n in names)):
        record = dict(fixed)
        record.update(zip(names, combination))
        if any(
            f.only_for and f.name in record and record.get("kind") != f.only_for
            for f in kind.fields
        ):
            continue
        if not record_matches(fl, record, request):
            continue
        reach = len(facts.sets_matching(fl.kind, record, request))
        if best is None or reach < best[0]:
            best = (reach, record)
    return None if best is None else best[1]


def tied_to_unknown_request(case: dict, policy_id: str, set_id: str) -> bool:
    """Whether every filter of record set `set_id` ties a field to a request value (`matches
    request.F`) that the case does not document: no record of the set can then be written."""
    filters = filter_facts(policy_id).filters_of(set_id)
    return bool(filters) and all(
        any(
            c.test.name in ("matches", "covers")
            and case["request"].get(c.test.arguments[1].arguments[0].name) is None
            for c in fl.conditions
        )
        for fl in filters
    )


def _least_reaching(
    case: dict, policy_id: str, set_id: str, days: int | None, window: int | None
) -> list[tuple[str, dict]]:
    """The records (kind, record), one per filter of record set `set_id`, that join the fewest
    record sets of the policy: usually one, several when filters tie."""
    facts = filter_facts(policy_id)
    assert set_id in facts.all_sets(), f"{set_id} is not a record set of {policy_id}"
    candidates = []
    for fl in facts.filters_of(set_id):
        record = _record_for(case, policy_id, fl, days, window)
        if record is not None:
            reach = len(facts.sets_matching(fl.kind, record, case["request"]))
            candidates.append((reach, fl.kind, record))
    assert candidates, f"no record can meet the filter of {set_id}"
    least = min(c[0] for c in candidates)
    return [(kind, record) for reach, kind, record in candidates if reach == least]


def _add_record_to_set(
    case: dict, policy_id: str, set_id: str, days: int | None, window: int | None, choice: int = 0
) -> None:
    """Append the least far-reaching record meeting a filter of record set `set_id`; `choice`
    picks among records that tie (taken modulo their number)."""
    tied = _least_reaching(case, policy_id, set_id, days, window)
    kind, record = tied[choice % len(tied)]
    case.setdefault("records", {})
    if case["records"] is None:
        case["records"] = {}
    case["records"].setdefault(kind, [])
    case["records"][kind].append(record)


def _leaf_days(leaf: RecordsLeaf) -> int | None:
    """A leaf's window in days; one in months as the fewest days it can span (28 a month), so
    that a record placed inside it is inside the calendar window too."""
    return leaf.window or (28 * leaf.window_months if leaf.window_months else None)


def _set_window(policy_id: str, set_id: str) -> int | None:
    """The narrowest window of a record leaf counting `set_id` or a set containing it."""
    compiled = loaded(policy_id).compiled
    windows = [
        _leaf_days(leaf)
        for info in compiled.nodes.values()
        if isinstance(leaf := info.leaf, RecordsLeaf)
        and _leaf_days(leaf)
        and (leaf.set_id == set_id or (set_id, leaf.set_id) in compiled.subsumed)
    ]
    return min(windows) if windows else None


def _add_record_for_set(case: dict, policy_id: str, set_id: str, choice: int = 0) -> None:
    """more(S, I): one more record of record set S, on a date of its own."""
    _add_record_to_set(case, policy_id, set_id, None, _set_window(policy_id, set_id), choice)


def _days_leaf(policy_id: str, node_id: str) -> tuple[str, int, int | None]:
    leaf = loaded(policy_id).compiled.nodes[node_id].records_leaf()
    assert leaf.unit == "days", (node_id, leaf)
    return leaf.set_id, leaf.minimum, _leaf_days(leaf)


def _add_days_for_leaf(case: dict, policy_id: str, node_id: str, choice: int = 0) -> None:
    """more_days(N): a therapy record giving duration leaf N the days it asks for."""
    set_id, minimum, window = _days_leaf(policy_id, node_id)
    _add_record_to_set(case, policy_id, set_id, minimum, window, choice)


def _ties(case: dict, policy_id: str, key: str) -> int:
    """How many equally narrow records an added-record item can become (1 for the others)."""
    term = clingo.parse_term(key.split(" | ")[0])
    if term.name == "more":
        set_id = term.arguments[0].name
        if tied_to_unknown_request(case, policy_id, set_id):
            return 1
        return len(_least_reaching(case, policy_id, set_id, None, _set_window(policy_id, set_id)))
    if term.name == "more_days":
        set_id, minimum, window = _days_leaf(policy_id, term.arguments[0].name)
        return len(_least_reaching(case, policy_id, set_id, minimum, window))
    return 1


def apply_missing_set(
    case: dict,
    policy_id: str,
    items: Iterable[MissingItem | str],
    choices: dict[str, int] | None = None,
    skip_unwritable: bool = False,
) -> dict:
    """Turn a set of missing documentation into real documentation, in a copy of the case.

    Each item (a MissingItem or its ASP key) becomes what a clinic would add to the record:

    * ``guess(F, V)``: finding F (or request field ``request(F)``) is documented as V; numbers
      are unscaled (V/100), ``true``/``false`` become booleans.
    * ``fill(r(kind, i), field, V)``: the field is written on ``records[kind][i]``.
    * ``more(S, I)``: a new record is appended that meets the filter of record set S (a named
      ``records`` set, or ``<leaf>_records`` for a count written inline in a criterion). The
      filter is read from the compiled policy's facts (``filter/3``, ``condition/3``,
      ``condition_value/3``, ``set_includes/2``), parsed by grounding the program with clingo.
      The record gets a date of its own before the request (inside any ``within`` window), the
      accepted value for every constrained field (threshold values unscaled; list members for
      ``has``; the request's value for ``matches``), and a value for every other required field
      of its kind. Of the records that would do, the one joining the fewest record sets of the
      policy is taken, so it counts for set S (and every set containing S) and as little else
      as possible.
    * ``more_days(N)``: a therapy record of an accepted kind is appended, running up to the day
      before the request for as many days as leaf N asks for (inside its window), with any
      kind-specific fields the filter requires.

    Guesses and fills are applied first, so a record filter that matches a request field sees
    the value a guess supplies.

    When records of different filters join equally few record sets (a record set that is the
    union of others), `choices` (item key -> index) picks one of them; the first by default.

    A ``more(S, I)`` whose filter ties a field to a request value the case (with the guesses)
    does not document cannot be written: an error, unless `skip_unwritable` (used when the
    self-check leaves an item out, e.g. the guess of the requested side) leaves it out.
    """
    result = copy.deepcopy(case)
    # A merged item (any of several values serves) is applied with its first value.
    parsed = [
        clingo.parse_term((i if isinstance(i, str) else i.key).split(" | ")[0]) for i in items
    ]
    order = {"guess": 0, "fill": 1, "more": 2, "more_days": 3}
    for term in sorted(parsed, key=lambda t: (order[t.name], str(t))):
        args = term.arguments
        if term.name == "guess":
            fact, value = args
            if fact.name == "request" and fact.arguments:
                result["request"][fact.arguments[0].name] = _python_value(value)
            else:
                result.setdefault("findings", {})
                if result["findings"] is None:
                    result["findings"] = {}
                result["findings"][fact.name] = _python_value(value)
        elif term.name == "fill":
            record, field, value = args
            kind, index = record.arguments[0].name, record.arguments[1].number
            result["records"][kind][index][field.name] = _python_value(value)
        elif term.name == "more":
            if skip_unwritable and tied_to_unknown_request(result, policy_id, args[0].name):
                continue
            _add_record_for_set(result, policy_id, args[0].name, (choices or {}).get(str(term), 0))
        elif term.name == "more_days":
            _add_days_for_leaf(result, policy_id, args[0].name, (choices or {}).get(str(term), 0))
        else:
            raise AssertionError(f"unknown missing item {term}")
    return result


def self_check(
    case: dict, policy_id: str, limit: int = SELF_CHECK_SETS, removal_budget: int = REMOVAL_BUDGET
) -> PolicyResult:
    """For an incomplete case: every listed minimal set completes it, and is minimal.

    Up to `limit` listed sets are each applied with apply_missing_set and must give
    `approvable`; then, set by set, leaving out any single item must not give `approvable`
    (the first set always in full, further sets while `removal_budget` solver calls last).

    An added record stands for any record of its set. When records of several filters of a
    union set are equally narrow (each joins as many record sets), which one serves least
    depends on the rest of the set: leaving an item out must then give something other than
    `approvable` for some choice among them (up to MAX_TIE_CHOICES tried), and the same choice
    with the item must give `approvable`. Left without the request value its filter is tied to
    (the guess of the requested side), an added record cannot be written and is left out.
    Returns the evaluated result, so callers can assert more about it.
    """
    result = evaluate(case, policy_id, enumerate=limit)
    assert result.determination == "incomplete", result.determination
    assert determination(case, policy_id) == "incomplete"
    assert result.missing, "an incomplete case lists at least one set of missing documentation"
    for items in result.missing[:limit]:
        shown = sorted(i.key for i in items)
        completed = apply_missing_set(case, policy_id, items)
        got = determination(completed, policy_id)
        assert got == "approvable", f"{policy_id}: applying {shown} gives {got}"
        # An item standing for several values: each of them completes the case.
        for index, item in enumerate(items):
            for key in item.key.split(" | ")[1:]:
                keys = [i.key for i in items[:index]] + [key] + [i.key for i in items[index + 1 :]]
                got = determination(apply_missing_set(case, policy_id, keys), policy_id)
                assert got == "approvable", f"{policy_id}: applying {keys} gives {got}"
    spent = 0
    for number, items in enumerate(result.missing[:limit]):
        if number and spent + len(items) > removal_budget:
            break
        shown = sorted(i.key for i in items)
        for index, item in enumerate(items):
            rest = items[:index] + items[index + 1 :]
            # Ties are counted where the records are added: after the guesses and fills.
            documented = apply_missing_set(
                case, policy_id, [i for i in rest if i.key.startswith(("guess(", "fill("))]
            )
            tied = [(i.key, n) for i in rest if (n := _ties(documented, policy_id, i.key)) > 1]
            witness = None
            for combination in itertools.islice(
                itertools.product(*(range(n) for _, n in tied)), MAX_TIE_CHOICES
            ):
                choices = dict(zip((k for k, _ in tied), combination))
                got = determination(
                    apply_missing_set(case, policy_id, rest, choices, skip_unwritable=True),
                    policy_id,
                )
                spent += 1
                if got != "approvable":
                    witness = choices
                    break
            assert witness is not None, (
                f"{policy_id}: {shown} without {item.key} is already approvable"
            )
            if any(witness.values()):
                got = determination(apply_missing_set(case, policy_id, items, witness), policy_id)
                spent += 1
                assert got == "approvable", (
                    f"{policy_id}: applying {shown} with choices {witness} gives {got}"
                )
    return result


# ------------------------------------------------------------------ criteria tables
def is_anonymous(parent: str, child: str) -> bool:
    """A member written without a name of its own gets the id `<parent>_<n>`."""
    return re.fullmatch(re.escape(parent) + r"_\d+", child) is not None


def named_criteria(policy_id: str, service: str) -> set[str]:
    """Every criterion of a service with an id of its own: tops, and named members below."""
    compiled = loaded(policy_id).compiled
    found: set[str] = set()
    stack = list(compiled.top[service])
    while stack:
        node = stack.pop()
        if node in found:
            continue
        found.add(node)
        stack.extend(c for c in compiled.nodes[node].children if not is_anonymous(node, c))
    return found


def param(policy_id: str, node: str, *values: Any, marks: Any = (), label: str = ""):
    """A table row named by its section, e.g. "MM-1508 D.I.B.6 two_provocative_tests"."""
    name = f"{cite(policy_id, node)} {node}" + (f" ({label})" if label else "")
    return pytest.param(node, *values, id=name, marks=marks)


def items_naming(result: PolicyResult, policy_id: str, node: str) -> list[MissingItem]:
    """Missing items (of any listed set) that name the criterion or a criterion below it."""
    below = subtree_ids(policy_id, node)
    return [item for items in result.missing for item in items if item.criterion_id in below]


def distinct_cases(tables: dict[str, list], known_bugs: dict[str, Any] | None = None) -> list:
    """pytest params (build,) for the distinct cases of named tables whose rows have a case
    builder as second value, named "<row id>, <table>"; an id in `known_bugs` gets that mark."""
    seen: set[str] = set()
    params = []
    for table, rows in tables.items():
        for row in rows:
            build = row.values[1]
            key = _case_key(build())
            if key in seen:
                continue
            seen.add(key)
            name = f"{row.id}, {table}"
            params.append(pytest.param(build, id=name, marks=(known_bugs or {}).get(name, ())))
    return params


def check_met(case: dict, policy_id: str, node: str, expected: str = "approvable") -> PolicyResult:
    result = evaluate(case, policy_id)
    assert status(result, node) == "met", find_node(result, node)
    assert result.determination == expected
    return result


def check_contradicted(
    case: dict, policy_id: str, node: str, expected: str = "not_met", reason_node: str | None = None
) -> PolicyResult:
    """The documented value contradicts the criterion: its status is not_met, and when that
    decides the case, a reason cites the section of the failing criterion."""
    result = evaluate(case, policy_id)
    assert status(result, node) == "not_met", find_node(result, node)
    assert result.determination == expected, result.reasons
    if expected == "not_met":
        wanted = cite(policy_id, reason_node or node)
        assert any(r.startswith(wanted + ":") for r in result.reasons), (wanted, result.reasons)
        assert not result.missing
    return result


def check_open(
    case: dict,
    policy_id: str,
    node: str,
    exact: set[frozenset[str]] | None = None,
    includes: Iterable[frozenset[str]] = (),
    named_under: str | None = None,
) -> PolicyResult:
    """The criterion is not documented: the case is incomplete and a minimal set names it.

    Every item naming it carries the section of the criterion it names in `criterion`. An
    alternative of an any-of that no minimal set needs (a sibling is always met with fewer
    items) is named through `named_under`, the group whose items must appear instead.
    """
    result = evaluate(case, policy_id, enumerate=SELF_CHECK_SETS)
    assert status(result, node) == "not_documented", find_node(result, node)
    assert result.determination == "incomplete", result.reasons
    if named_under is not None:
        assert node in subtree_ids(policy_id, named_under), (node, named_under)
        assert not items_naming(result, policy_id, node), "no set should need it"
    naming = items_naming(result, policy_id, named_under or node)
    assert naming, [[i.key for i in s] for s in result.missing]
    for item in naming:
        assert item.criterion == cite(policy_id, item.criterion_id), item
    found = set_keys(result)
    if exact is not None:
        assert result.missing_complete, "more sets than expected"
        assert found == exact, found
    for wanted in includes:
        assert wanted in found, (wanted, found)
    return result


# ------------------------------------------------------------------ the command line, golden files
TESTS = Path(__file__).resolve().parent
REPO = REPO_ROOT
GOLDEN = TESTS / "golden"
BAD_POLICIES = TESTS / "bad_policies"
POLICIES_DIR = REPO / "policies_asp"
VOCABULARY = POLICIES_DIR / "vocabulary.sijv"
APPROVABLE = REPO / "examples" / "cases" / "approvable.yaml"


def bundled_ids() -> list[str]:
    """Every bundled policy's id, in the order the CLI lists them."""
    from sijfasp.policies import bundled_policies

    return [p.policy.id for p in bundled_policies()]


def update_golden() -> bool:
    """True when SIJFASP_UPDATE_GOLDEN=1: golden files are rewritten instead of compared."""
    return os.environ.get("SIJFASP_UPDATE_GOLDEN") == "1"


def check_golden(path: Path, actual: str) -> None:
    """Compare `actual` with the golden file at `path`, or rewrite it when asked to."""
    if update_golden():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    assert path.is_file(), (
        f"missing golden file {path.relative_to(REPO)}; "
        "run the tests with SIJFASP_UPDATE_GOLDEN=1 to create it"
    )
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, (
        f"output differs from {path.relative_to(REPO)} "
        "(if the change is intended, rerun with SIJFASP_UPDATE_GOLDEN=1 "
        "and review the diff)"
    )


def cli_command(*args: Any) -> list[str]:
    """The command line of `python -m sijfasp ARGS`."""
    return [sys.executable, "-m", "sijfasp", *(str(a) for a in args)]


def cli_env(**overrides: str) -> dict[str, str]:
    """The environment the CLI tests run in: UTF-8 output, 80 columns, plus `overrides`."""
    return {**os.environ, "PYTHONIOENCODING": "utf-8", "COLUMNS": "80", **overrides}


def run_cli(
    *args: Any,
    cwd: Path = REPO,
    timeout: float = 120,
    input: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """`python -m sijfasp ARGS` from `cwd`; text output, never raises on a non-zero exit."""
    return subprocess.run(
        cli_command(*args),
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env or cli_env(),
        timeout=timeout,
        input=input,
    )


def run_many(commands: list[tuple], cwd: Path = REPO) -> dict[tuple, subprocess.CompletedProcess]:
    """Run several `python -m sijfasp` commands side by side; results keyed by their arguments."""
    workers = max(2, min(8, (os.cpu_count() or 2) * 2))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {tuple(args): pool.submit(run_cli, *args, cwd=cwd) for args in commands}
    return {args: future.result() for args, future in futures.items()}


def approvable_case() -> dict:
    """The bundled approvable example as a fresh, mutable dict (YAML dates as dt.date)."""
    return copy.deepcopy(_APPROVABLE_DATA)


_APPROVABLE_DATA = yaml.safe_load(APPROVABLE.read_text(encoding="utf-8"))


def _plain_json(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def write_case(directory: Path, data: Any, name: str = "case.yaml") -> Path:
    """Write a case as YAML (or JSON when `name` ends in .json) and return its path."""
    path = directory / name
    if name.endswith(".json"):
        path.write_text(json.dumps(data, default=_plain_json, indent=1), encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def determinations(json_text: str) -> dict[str, str]:
    """policy id -> determination, from `check --format json` output."""
    data = json.loads(json_text)
    return {r["policy"]: r["determination"] for r in data["results"]}


def known_determinations(json_text: str) -> dict[str, str]:
    """determinations() of the policies in POLICY_IDS only, after checking every bundled policy
    got one."""
    found = determinations(json_text)
    assert set(found) <= set(bundled_ids())
    return {policy: d for policy, d in found.items() if policy in POLICY_IDS}
