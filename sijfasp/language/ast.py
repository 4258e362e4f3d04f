"""The syntax tree of a policy-language file: frozen dataclasses, no logic.

Every node carries the `Span` it was parsed from, so that every later stage can point back at
the text an author wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Union

from ..core.kinds import (  # one closed set from the syntax tree to the solver
    CountUnit,
    FieldOperator,
)
from ..core.source import Span


# ------------------------------------------------------------------ closed sets
# Each is also its own text, so code comparing with the plain word keeps working; code that
# dispatches over one ends with an error, never a silent default.
class CombinatorKind(StrEnum):
    ALL = "all"
    ANY = "any"
    NONE = "none"
    AT_LEAST = "at_least"


class BlockRole(StrEnum):
    CRITERIA = "criteria"
    EXCLUSIONS = "exclusions"
    ADVISORIES = "advisories"


# ------------------------------------------------------------------ shared pieces
@dataclass(frozen=True)
class Property:
    """`name value` inside braces: `payer "AIM"`, `cost 3`, `required`."""

    name: str
    value: str | Decimal | None
    span: Span


@dataclass(frozen=True)
class Coding(Property):
    """`code loinc "38214-3" "display" for value`: a standard code of a vocabulary item, or with
    `for` of one of its values. It sits among the item's properties (name `code`, no value) and
    may be given many times; language/semantics.py checks its system and form (core/codings.py)."""

    system: str = ""
    code: str = ""
    display: str | None = None
    for_value: str | None = None


@dataclass(frozen=True)
class TypeSpec:
    """`bool`, `number 0..10`, `date`, `choice {a, b}`, `set {a, b}`."""

    name: str
    low: Decimal | None
    high: Decimal | None
    values: tuple[str, ...]
    span: Span


# ------------------------------------------------------------------ vocabulary
@dataclass(frozen=True)
class VocabularyDecl:
    name: str
    description: str
    span: Span


@dataclass(frozen=True)
class FindingDecl:
    name: str
    type: TypeSpec
    properties: tuple[Property, ...]
    span: Span


@dataclass(frozen=True)
class RequestDecl:
    name: str
    type: TypeSpec
    properties: tuple[Property, ...]
    span: Span


@dataclass(frozen=True)
class FieldDecl:
    name: str
    type: TypeSpec
    properties: tuple[Property, ...]
    span: Span


@dataclass(frozen=True)
class RecordDecl:
    name: str
    properties: tuple[Property, ...]
    fields: tuple[FieldDecl, ...]
    span: Span


@dataclass(frozen=True)
class ImplicationDecl:
    """`finding sacral_tumor_present implies tumor`: the narrow finding true makes the broad
    one true."""

    narrow: str
    broad: str
    span: Span
    narrow_span: Span
    broad_span: Span


@dataclass(frozen=True)
class ServiceCodesDecl:
    """`service percutaneous_sij_fusion cpt 27278, 27279` in a vocabulary: the procedure codes
    a request for the service may document (a policy's `service` has a section and a label)."""

    name: str
    cpt_codes: tuple[str, ...]
    span: Span


# ------------------------------------------------------------------ conditions
@dataclass(frozen=True)
class FactRef:
    """A finding (`vas_score`) or a request field (`request.fixation`)."""

    scope: str  # "finding" or "request"
    name: str
    span: Span


@dataclass(frozen=True)
class IsValue:
    """`fact is true`, `fact is not true`, `fact is posterior`."""

    fact: FactRef
    value: str
    negated: bool
    span: Span


@dataclass(frozen=True)
class IsIn:
    fact: FactRef
    values: tuple[str, ...]
    span: Span


@dataclass(frozen=True)
class Compare:
    fact: FactRef
    operator: str
    value: Decimal
    span: Span


@dataclass(frozen=True)
class Reference:
    """The name of a `define`d condition."""

    name: str
    span: Span


@dataclass(frozen=True)
class FieldCondition:
    """One test on a record field inside `kind where ...`.

    operator is one of: is, in, compare, has, within, matches, covers, after, before; after and
    before hold the name of the record set the record is ordered against in `values`.
    """

    field: str
    operator: FieldOperator
    values: tuple[str, ...]
    comparator: str | None
    number: Decimal | None
    span: Span
    months: bool = False  # `within last N months` rather than days


@dataclass(frozen=True)
class RecordFilter:
    """`injection where purpose is diagnostic and ...`; no conditions means every record of kind."""

    kind: str
    conditions: tuple[FieldCondition, ...]
    span: Span
    # `with ...`: the outcome an attempt (a record meeting `conditions`) must show to count.
    outcome: tuple[FieldCondition, ...] = ()
    # `recent_imaging where ...`: the named record set this filter narrows (language/semantics.py
    # rewrites the narrowing into one filter per filter of the set, each naming it here).
    narrows: str | None = None

    @property
    def all_conditions(self) -> tuple[FieldCondition, ...]:
        return self.conditions + self.outcome


@dataclass(frozen=True)
class RecordSetName:
    """A bare name in a record set: a record kind or a `records` definition."""

    name: str
    span: Span


RecordPart = Union[RecordFilter, RecordSetName]


@dataclass(frozen=True)
class RecordSet:
    """A union of record filters and named sets."""

    parts: tuple[RecordPart, ...]
    span: Span


@dataclass(frozen=True)
class CountRecords:
    """`at least N <records>` (unit "records"), `... separate dates of` ("dates"), `... days of`;
    `latest of <records>` (unit "latest", minimum 1): the most recent attempt shows the outcome."""

    unit: CountUnit
    minimum: int
    records: RecordSet
    window_days: int | None
    span: Span
    # `within last N months`: calendar months back from the request date, inclusive.
    window_months: int | None = None
    # `, at least G days apart` (dates only): the dates counted are pairwise G days apart or more.
    apart_days: int | None = None
    # `at least N months of` (unit days): `minimum` is N calendar months ending on the request
    # date, as days, which only the case can say.
    in_months: bool = False


@dataclass(frozen=True)
class Combinator:
    """`all of`, `any of`, `none of`, `at least K of` over members."""

    kind: CombinatorKind
    minimum: int | None
    members: tuple[Member, ...]
    span: Span


Condition = Union[IsValue, IsIn, Compare, Reference, CountRecords]
Expr = Union[Combinator, Condition]


@dataclass(frozen=True)
class Criterion:
    """`id [section] "label": expr`: a named, traceable criterion."""

    name: str
    section: str | None
    label: str
    body: Expr
    span: Span


Member = Union[Criterion, Expr]


# ------------------------------------------------------------------ policy
@dataclass(frozen=True)
class ImportDecl:
    path: str
    span: Span
    # `import vocabulary "sij_fusion"`: `path` is the name of a vocabulary bundled with sijfasp.
    by_name: bool = False


@dataclass(frozen=True)
class PlanProperty:
    """`effective for anthem_medicaid 2022-09-11`: a header property for one line of business."""

    name: str
    plan: str
    value: str | Decimal
    span: Span


@dataclass(frozen=True)
class PolicyDecl:
    name: str
    properties: tuple[Property, ...]
    span: Span
    plan_properties: tuple[PlanProperty, ...] = ()


@dataclass(frozen=True)
class ServiceDecl:
    name: str
    cpt_codes: tuple[str, ...]  # `cpt 27278, 27279`; empty: the service accepts any code
    section: str
    label: str
    span: Span

    @property
    def cpt(self) -> str | None:
        """The first code listed, as a single code was read before several were allowed."""
        return self.cpt_codes[0] if self.cpt_codes else None


@dataclass(frozen=True)
class DefineDecl:
    name: str
    section: str | None
    label: str
    body: Expr
    span: Span


@dataclass(frozen=True)
class RecordsDecl:
    name: str
    section: str | None
    label: str
    records: RecordSet
    span: Span


@dataclass(frozen=True)
class Advisory:
    name: str
    section: str | None
    label: str
    when: Expr
    recommend: Expr | None
    span: Span


@dataclass(frozen=True)
class CriteriaBlock:
    """`criteria for`, `exclusions for` (role "exclusions") or `advisories for`."""

    role: BlockRole
    services: tuple[str, ...]
    items: tuple[Criterion | Advisory, ...]
    span: Span
    service_spans: tuple[Span, ...]


Declaration = Union[
    VocabularyDecl,
    FindingDecl,
    RequestDecl,
    RecordDecl,
    ImplicationDecl,
    ServiceCodesDecl,
    ImportDecl,
    PolicyDecl,
    ServiceDecl,
    DefineDecl,
    RecordsDecl,
    CriteriaBlock,
]


@dataclass(frozen=True)
class SourceFile:
    path: str
    declarations: tuple[Declaration, ...]
