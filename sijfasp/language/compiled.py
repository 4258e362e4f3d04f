"""What compiling a policy hands on: `CompiledPolicy` (the ASP facts as text) and the metadata
that explanations, missing documentation and the author's tools read beside the program: each
node of the criteria tree (`NodeInfo` with its `FactLeaf` or `RecordsLeaf`), each record set
(`RecordSetInfo`, its filters as `Condition`s in normal form), advisories, and the classes of
values a number's comparisons cannot tell apart (`ValueClass`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

from ..core.kinds import CountUnit, LeafTest, NodeKind, Operator
from ..core.units import unscaled

OPERATORS = {text: Operator.of_symbol(text).value for text in (">=", "<=", ">", "<", "=", "!=")}

# A window as long as a finding documents (`within last FINDING months`) reaches this far back at
# most: the longest window in months (semantics.MAX_MONTHS); a longer duration sets no bound.
FACT_WINDOW_MONTHS = 240


def fact_term(scope: str, name: str) -> str:
    """How a finding or request field is named in ASP: `vas_score`, `request(side)`."""
    return name if scope == "finding" else f"request({name})"


@dataclass(frozen=True)
class ValueClass:
    """Values of a number that every comparison in the policy treats alike, and a representative."""

    representative: int
    low: int
    high: int

    def describe(self, full_low: int, full_high: int) -> str:
        low, high = unscaled(self.low), unscaled(self.high)
        if self.low == self.high:
            return f"= {low}"
        if self.high == full_high:
            return f">= {low}"
        if self.low == full_low:
            return f"<= {high}"
        return f"{low} to {high}"


@dataclass(frozen=True)
class FactLeaf:
    """A leaf testing a finding or request field (`key` as a case writes it: request.side)."""

    source: Literal["fact"]
    test: LeafTest
    key: str
    operator: Operator | None = None  # a comparison's
    threshold: int | None = None  # a comparison's, scaled
    values: tuple[str, ...] = ()  # the values a value_in test accepts


@dataclass(frozen=True)
class RecordsLeaf:
    """A leaf counting records, distinct dates or days of therapy in a record set."""

    source: Literal["records"]
    unit: CountUnit
    set_id: str
    minimum: int
    window: int | None  # days back from the request date, for a days leaf
    window_months: int | None = None  # calendar months back from the request date, inclusive
    apart: int | None = None  # a dates leaf's spacing: the dates counted are this many days apart
    # `at least N months of`: N calendar months ending on the request date, as many days as the
    # case's month_start/2 says; `minimum` is then the fewest days N months can be (any date).
    minimum_months: int | None = None


@dataclass(frozen=True)
class NodeInfo:
    """One node of the criteria tree as an explanation shows it."""

    id: str
    kind: NodeKind
    minimum: int | None
    label: str
    section: str
    children: tuple[str, ...]
    condition: str | None  # the leaf's test in policy words, e.g. "vas_score >= 5"
    leaf: FactLeaf | RecordsLeaf | None
    line: int

    def fact_key(self) -> str | None:
        """The finding or request field a fact leaf tests."""
        return self.leaf.key if isinstance(self.leaf, FactLeaf) else None

    def set_id(self) -> str | None:
        """The record set a records leaf counts."""
        return self.leaf.set_id if isinstance(self.leaf, RecordsLeaf) else None

    def records_leaf(self) -> RecordsLeaf:
        if not isinstance(self.leaf, RecordsLeaf):
            raise ValueError(f"{self.id} is not a records leaf")
        return self.leaf

    def counts_dates(self) -> bool:
        return isinstance(self.leaf, RecordsLeaf) and self.leaf.unit == CountUnit.DATES


class InCondition(NamedTuple):
    """The field's value is one of `values`."""

    test: Literal["in"]
    field: str
    values: frozenset[str]


class CmpCondition(NamedTuple):
    """The field's number compares with a scaled threshold."""

    test: Literal["cmp"]
    field: str
    operator: Operator
    threshold: int


class HasCondition(NamedTuple):
    """The list field has `value` among its members."""

    test: Literal["has"]
    field: str
    value: str


class WithinCondition(NamedTuple):
    """The date field is between `low` and `high` days from the request date."""

    test: Literal["within"]
    field: str
    low: int
    high: int


class WithinMonthsCondition(NamedTuple):
    """The date field is no earlier than `months` calendar months before the request date."""

    test: Literal["within_months"]
    field: str
    months: int


class WithinFactMonthsCondition(NamedTuple):
    """The date field is no earlier than as many calendar months before the request date as the
    number finding `fact` documents (the current episode of care, from the pain's duration)."""

    test: Literal["within_fact_months"]
    field: str
    fact: str


class MatchesCondition(NamedTuple):
    """The field has the same value as a request field (`target`, e.g. request.side); with
    `covers`, or the value bilateral."""

    test: Literal["matches", "covers"]
    field: str
    target: str


class OrderCondition(NamedTuple):
    """The date field is strictly later (`after`) or earlier (`before`) than the date of some
    record of the named set `target`."""

    test: Literal["after", "before"]
    field: str
    target: str


# A field condition in the normal form subsumption compares; the tag comes first.
Condition = (
    InCondition
    | CmpCondition
    | HasCondition
    | WithinCondition
    | WithinMonthsCondition
    | WithinFactMonthsCondition
    | MatchesCondition
    | OrderCondition
)


@dataclass(frozen=True)
class RecordSetInfo:
    id: str
    kind: str
    label: str
    description: str
    filters: tuple[tuple[Condition, ...], ...] = ()  # each filter as its conditions
    includes: tuple[str, ...] = ()
    outcome_fields: tuple[str, ...] = ()  # fields the filters' `with` outcome tests


class AdvisoryInfo(NamedTuple):
    """An advisory: its condition node, and the criterion it recommends (if any)."""

    id: str
    when: str
    recommend: str | None


@dataclass(frozen=True)
class CompiledPolicy:
    id: str
    program: str
    nodes: dict[str, NodeInfo]
    top: dict[str, tuple[str, ...]]  # service -> its top criteria
    exclusions: dict[str, tuple[str, ...]]  # service -> exclusion nodes
    advisories: dict[str, tuple[AdvisoryInfo, ...]]  # service -> its advisories
    record_sets: dict[str, RecordSetInfo]
    fact_classes: dict[str, tuple[ValueClass, ...]]  # fact term -> classes of a number
    field_classes: dict[tuple[str, str], tuple[ValueClass, ...]]  # (kind, field) -> classes
    subsumed: frozenset[tuple[str, str]] = frozenset()  # (narrow, broad) record sets
    # (narrow, broad, request field as `request.F`, value): narrow within broad once the
    # request field has that value (a record of the requested side is then a record of that side).
    subsumed_when: frozenset[tuple[str, str, str, str]] = frozenset()

    def may_count_for(self, narrow: str, broad: str) -> bool:
        """Whether a record added to set `narrow` counts for set `broad`, for some request."""
        return (narrow, broad) in self.subsumed or any(
            (n, b) == (narrow, broad) for n, b, _, _ in self.subsumed_when
        )

    def window_months(self) -> frozenset[int]:
        """The calendar-month windows the policy reads (`within the last N months` in a filter
        or on a days leaf): the only lengths of month_start/2 its program needs."""
        found = {
            months
            for node in self.nodes.values()
            if isinstance(node.leaf, RecordsLeaf)
            for months in (node.leaf.window_months, node.leaf.minimum_months)
            if months
        }
        found |= {
            condition.months
            for info in self.record_sets.values()
            for conditions in info.filters
            for condition in conditions
            if condition.test == "within_months"
        }
        if self.reads_fact_windows():
            found |= set(range(1, FACT_WINDOW_MONTHS + 1))
        return frozenset(found)

    def reads_fact_windows(self) -> bool:
        """Whether a filter's window is as long as a finding documents (`within last FINDING
        months`): the case's value decides its length, so every length may be needed."""
        return any(
            condition.test == "within_fact_months"
            for info in self.record_sets.values()
            for conditions in info.filters
            for condition in conditions
        )

    def cite(self, node_id: str, policy_cite: str) -> str:
        return f"{policy_cite} {self.nodes[node_id].section}".strip()

    def set_conditions(self, set_id: str) -> list[Condition]:
        """Every field condition of a record set's filters, included sets too."""
        return [c for f in set_filters(self.record_sets, set_id) for c in f]

    def condition_fields(self, set_id: str) -> set[str]:
        """The record fields a set's filters test."""
        return {c.field for c in self.set_conditions(set_id)}

    def outcome_fields(self, set_id: str) -> list[str]:
        """The fields a set's outcome (`with ...`) tests, included sets too, in order."""
        found: list[str] = []
        seen, pending = {set_id}, [set_id]
        while pending:
            info = self.record_sets[pending.pop(0)]
            found += [f for f in info.outcome_fields if f not in found]
            for included in info.includes:
                if included not in seen:
                    seen.add(included)
                    pending.append(included)
        return found

    def matched_request_fields(self, set_id: str) -> set[str]:
        """The request fields (`request.side`) a set's filters match a record field against."""
        return {c.target for c in self.set_conditions(set_id) if isinstance(c, MatchesCondition)}


def set_filters(sets: dict[str, RecordSetInfo], set_id: str) -> list[tuple[Condition, ...]]:
    """The filters of a record set, with those of the sets it includes."""
    # Each included set once, without recursion: sets may share and chain their includes.
    found: list[tuple[Condition, ...]] = []
    seen, pending = {set_id}, [set_id]
    while pending:
        info = sets[pending.pop(0)]
        found += info.filters
        for included in info.includes:
            if included not in seen:
                seen.add(included)
                pending.append(included)
    return found
